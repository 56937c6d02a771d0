// The run report: lineage and gene provenance from a hand-made history, the run-folder reader,
// the HTML helpers, and the whole report on a hand-made run folder (no LibTorch anywhere).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "pbtnas/index/run_dir.hpp"
#include "pbtnas/report/figures.hpp"
#include "pbtnas/report/html_report.hpp"
#include "pbtnas/report/lineage.hpp"
#include "pbtnas/report/run_data.hpp"
#include "support/skip.hpp"
#include "support/temp_dir.hpp"

using namespace pbtnas;
using namespace pbtnas::report;

namespace {

Incarnation inc(int slot, std::int64_t birth, int p1, int p2, ChildKind kind, std::vector<int> genes, std::int64_t final_gen) {
  Incarnation h;
  h.slot = slot;
  h.birth_generation = birth;
  h.parent1 = p1;
  h.parent2 = p2;
  h.kind = kind;
  h.changed_genes = genes;
  h.old_values.assign(genes.size(), 0);
  h.new_values.assign(genes.size(), 1);
  h.final_generation = final_gen;
  h.final_fitness = 0.5;
  return h;
}

// Four slots, three genes. After generation 0: slot 2 <- 0 + 1 (mix, gene 1), slot 3 <- 1
// (clone). After generation 1: slot 0 <- 2 + 3 (mix, genes 0 and 2), slot 1 <- 2 (arch
// mutation of gene 2).
std::vector<Incarnation> history() {
  std::vector<Incarnation> h = {
      inc(0, -1, -1, -1, ChildKind::Initial, {}, 1),       // 0
      inc(1, -1, -1, -1, ChildKind::Initial, {}, 1),       // 1
      inc(2, -1, -1, -1, ChildKind::Initial, {}, 0),       // 2
      inc(3, -1, -1, -1, ChildKind::Initial, {}, 0),       // 3
      inc(2, 0, 0, 1, ChildKind::Mix, {1}, -1),            // 4
      inc(3, 0, 1, 1, ChildKind::Clone, {}, -1),           // 5
      inc(0, 1, 2, 3, ChildKind::Mix, {0, 2}, -1),         // 6
      inc(1, 1, 2, 2, ChildKind::ArchMutation, {2}, -1)};  // 7
  for (std::size_t i = 0; i < h.size(); ++i) h[i].seq_id = static_cast<std::int64_t>(i);
  return h;
}

std::vector<std::int64_t> hop_incs(const std::vector<GeneHop>& path) {
  std::vector<std::int64_t> v;
  for (const auto& p : path) v.push_back(p.incarnation);
  return v;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A run folder with a committed generation 1 (index only), an uncommitted generation 2 and the
// JSON files a run writes; `hyper`: with a hyperparameter gene "hyper.lr" as the last gene.
void make_run(const std::string& out, bool hyper = false) {
  io::GenerationIndex idx;
  idx.generation = 1;
  idx.next_epoch = 2;
  idx.seed = 7;
  idx.algorithm = "pbtnas";
  idx.space_name = "tiny";
  idx.config_yaml = "# </pre><script>alert('x')</script> & more\nseed: 7\ntask: gan\nmax_epochs: 6\nepochs_step: 2\n";
  idx.gene_names = {"cell0.op", "cell0.act", "cell1.op"};
  idx.gene_options = {{"conv", "skip"}, {"relu", "tanh"}, {"conv", "none"}};
  if (hyper) {
    idx.gene_names.push_back("hyper.lr");
    idx.gene_options.push_back({"0.001", "0.00316228", "0.01"});
  }
  const auto h = history();
  idx.history = h;
  for (int slot = 0; slot < 4; ++slot) {
    MemberRecord m;
    m.id = slot;
    m.genome = {slot % 2, 1, 0};
    if (hyper) m.genome.push_back(slot % 3);
    m.fitness = {0.1 * slot, 0.2 * slot};
    m.lineage = {{slot}, {slot}, {slot}};
    m.incarnation = slot < 2 ? 6 + slot : 4 + (slot - 2);
    idx.members.push_back(m);
  }
  idx.best_ever_fitness = 0.9;
  idx.best_ever_member = 0;
  idx.best_ever_generation = 1;
  io::write_index(io::index_file_path(out, 1), idx);
  std::filesystem::create_directories(io::generation_dir(out, 2));  // uncommitted
  std::string metrics;
  for (int g = 0; g <= 2; ++g)
    for (int m = 0; m < 4; ++m)
      metrics += "{\"architecture\":\"conv tanh none" + std::string(hyper ? (m == 2 ? " 0.01" : " 0.001") : "") +
                 "\",\"diverged\":false,\"epoch\":" + std::to_string(2 * g + 2) +
                 ",\"fitness\":" + std::to_string(0.1 * m + 0.3 * g + (g == 1 && m == 0 ? 0.4 : 0.0)) +
                 ",\"generation\":" + std::to_string(g) + ",\"member\":" + std::to_string(m) +
                 ",\"samples\":10,\"train_loss\":1.0,\"train_seconds\":0.5}\n";
  write(out + "/metrics.jsonl", metrics);
  write(out + "/workers.jsonl", "{\"busy_seconds\":1.5,\"generation\":0,\"rank\":1,\"wait_seconds\":0.5}\n"
                                "{\"busy_seconds\":2.5,\"generation\":0,\"rank\":2,\"wait_seconds\":0.0}\n");
  write(out + "/summary.json", R"({"best_member":0,"fitness":0.9,"test_score":0.85,"parameters":1234,
    "best_ever":{"fitness":0.9,"member":0,"generation":1,"evaluation":{"fid":12.5,"inception_score":null}}})");
}

}  // namespace

TEST_CASE("incarnation_at: the newest model of a slot born before a generation", "[report]") {
  const auto h = history();
  CHECK(incarnation_at(h, 2, 0) == 2);
  CHECK(incarnation_at(h, 2, 1) == 4);
  CHECK(incarnation_at(h, 0, 1) == 0);
  CHECK(incarnation_at(h, 0, 2) == 6);
  CHECK(incarnation_at(h, 9, 2) == -1);
}

TEST_CASE("lineage edges: parent1 and donor edges, clones and mutations", "[report]") {
  const auto e = lineage_edges(history());
  REQUIRE(e.size() == 6);
  auto has = [&](std::int64_t p, std::int64_t c, bool donor, std::vector<int> genes) {
    for (const auto& x : e)
      if (x.parent == p && x.child == c && x.donor == donor && x.genes == genes) return true;
    return false;
  };
  CHECK(has(0, 4, false, {}));
  CHECK(has(1, 4, true, {1}));
  CHECK(has(1, 5, false, {}));
  CHECK(has(4, 6, false, {}));
  CHECK(has(5, 6, true, {0, 2}));
  CHECK(has(4, 7, false, {2}));  // the arch mutation's changed gene sits on its base edge
}

TEST_CASE("ancestry and base line of a member", "[report]") {
  const auto h = history();
  CHECK(ancestry(h, 6) == std::vector<std::int64_t>{0, 1, 4, 5, 6});
  CHECK(ancestry(h, 7) == std::vector<std::int64_t>{0, 1, 4, 7});
  CHECK(ancestry(h, 3) == std::vector<std::int64_t>{3});
  CHECK(base_line(h, 6) == std::vector<std::int64_t>{6, 4, 0});
}

TEST_CASE("gene provenance follows donors, bases and mutations", "[report]") {
  const auto h = history();
  const auto g0 = gene_path(h, 6, 0);  // donated by slot 3 (a clone of slot 1)
  CHECK(hop_incs(g0) == std::vector<std::int64_t>{1, 5, 6});
  CHECK(g0[0].how == HopKind::Initial);
  CHECK(g0[1].how == HopKind::Inherited);
  CHECK(g0[2].how == HopKind::Donated);
  CHECK(g0[2].generation == 1);
  const auto g1 = gene_path(h, 6, 1);  // from its base (slot 2), which got it from slot 1's donation
  CHECK(hop_incs(g1) == std::vector<std::int64_t>{1, 4, 6});
  CHECK(g1[1].how == HopKind::Donated);
  CHECK(g1[2].how == HopKind::Inherited);
  const auto fresh = gene_path(h, 7, 2);
  REQUIRE(fresh.size() == 1);
  CHECK(fresh[0].how == HopKind::Fresh);
  CHECK(fresh[0].slot == 1);
  CHECK(hop_incs(gene_path(h, 7, 0)) == std::vector<std::int64_t>{0, 4, 7});
}

TEST_CASE("gene provenance through a clone and a weight mutation (mutation baseline)", "[report]") {
  std::vector<Incarnation> h = {inc(0, -1, -1, -1, ChildKind::Initial, {}, -1), inc(1, -1, -1, -1, ChildKind::Initial, {}, 0),
                                inc(2, -1, -1, -1, ChildKind::Initial, {}, 1), inc(1, 0, 0, 0, ChildKind::Clone, {}, -1),
                                inc(2, 1, 1, 1, ChildKind::WeightMutation, {}, -1)};
  const auto path = gene_path(h, 4, 1);
  CHECK(hop_incs(path) == std::vector<std::int64_t>{0, 3, 4});
  CHECK(path[1].how == HopKind::Inherited);
  CHECK(path[2].how == HopKind::Mutated);
  const auto e = lineage_edges(h);
  REQUIRE(e.size() == 2);
  CHECK(e[1].parent == 3);
  CHECK(e[1].kind == ChildKind::WeightMutation);
  CHECK_FALSE(e[1].donor);
  CHECK(ancestry(h, 4) == std::vector<std::int64_t>{0, 3, 4});
}

TEST_CASE("lineage_dot: nodes, donor edges and the highlighted ancestry", "[report]") {
  const auto h = history();
  const std::string d = lineage_dot(h, std::vector<double>(h.size(), 0.5), {"a.op", "a.act", "b.op"}, 6, 1);
  CHECK(d.rfind("digraph lineage {", 0) == 0);
  CHECK(d.find("n5 -> n6 [style=dashed") != std::string::npos);
  CHECK(d.find("tooltip=\"a.op b.op\"") != std::string::npos);
  CHECK(d.find("n6 [label=\"slot 0\\ngen 2\\n0.5\"") != std::string::npos);
  CHECK(d.find("fillcolor=\"#ffb300\"") != std::string::npos);
  CHECK(d.find("label=\"arch_mutation (1)\"") != std::string::npos);
}

TEST_CASE("parse_metrics: member rows, generation rows, nulls, resumed duplicates", "[report]") {
  std::vector<GenerationTiming> t;
  std::vector<std::string> notes;
  const auto rows = parse_metrics(
      "{\"generation\":0,\"member\":1,\"fitness\":0.5,\"architecture\":\"conv relu\",\"diverged\":false}\n"
      "not json\n"
      "{\"generation\":0,\"member\":0,\"fitness\":null,\"diverged\":true}\n"
      "{\"generation\":0,\"member\":1,\"fitness\":0.6,\"architecture\":\"skip relu\"}\n"
      "{\"generation\":0,\"train_seconds\":3.0,\"exploit_seconds\":0.1,\"checkpoint_seconds\":0.2,\"bytes_sent\":2048}\n",
      t, notes);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].member == 0);
  CHECK(std::isnan(rows[0].fitness));
  CHECK(rows[0].diverged);
  CHECK(rows[1].fitness == 0.6);
  CHECK(rows[1].architecture == std::vector<std::string>{"skip", "relu"});
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].find("line 2") != std::string::npos);
  REQUIRE(t.size() == 1);
  CHECK(t[0].exploit_seconds == 0.1);
  CHECK(t[0].bytes_sent == 2048);
  CHECK(t[0].train_phase_seconds() == 3.0);
  std::vector<GenerationTiming> w;
  parse_workers("{\"generation\":4,\"rank\":2,\"busy_seconds\":1.0,\"wait_seconds\":2.5}\n"
                "{\"generation\":4,\"rank\":1,\"busy_seconds\":3.0,\"wait_seconds\":0.0}\n", w, notes);
  REQUIRE(w.size() == 1);
  CHECK(w[0].busy_seconds == std::vector<double>{3.0, 1.0});
  CHECK(w[0].train_phase_seconds() == 3.5);  // the slowest worker's busy + wait
}

TEST_CASE("parse_summary and parse_config_keys", "[report]") {
  const Summary s = parse_summary(R"({"best_member":2,"validation":0.8,"test":0.7,"scores":{"FID":26.5},
      "best_ever":{"fitness":0.9,"member":1,"generation":5,"parameters":99,"evaluation":{"fid":3.5,"is":null}}})");
  CHECK(s.present);
  REQUIRE(s.scores.size() == 1);
  CHECK(s.scores[0] == std::make_pair(std::string("FID"), 26.5));
  CHECK(s.best_member == 2);
  CHECK(s.best_ever_generation == 5);
  CHECK(s.parameters == 99);
  REQUIRE(s.evaluation.size() == 2);
  CHECK(s.evaluation[0] == std::make_pair(std::string("fid"), 3.5));
  CHECK(std::isnan(s.evaluation[1].second));
  // A summary written before the generic keys were renamed: "validation"/"test" are read as fitness/test_score.
  CHECK(s.fitness == 0.8);
  CHECK(s.test_score == 0.7);
  const Summary renamed = parse_summary(R"({"best_member":1,"fitness":-26.5,"test_score":null,"scores":{"FID":26.5}})");
  CHECK(renamed.fitness == -26.5);
  CHECK(std::isnan(renamed.test_score));
  CHECK_FALSE(parse_summary("{broken").present);
  std::string task;
  int steps = -1;
  parse_config_keys("task: rl\nmax_epochs: 30\nepochs_step: 3\n", task, steps);
  CHECK(task == "rl");
  CHECK(steps == 10);
  parse_config_keys("seed: 1\n", task, steps);
  CHECK(task.empty());  // the registry's default: the report asks ReportOptions::task_words
  CHECK(steps == 30);  // the defaults 300 / 10
}

TEST_CASE("HTML escaping, base64 and script-safe text", "[report]") {
  CHECK(html_escape("<a href=\"x\">&'</a>") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  CHECK(html_escape("plain: yes") == "plain: yes");
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode(std::string("\xff\x00\x10", 3)) == "/wAQ");
  CHECK(script_safe("{\"a\":\"</script><!-- </SCRIPT>\"}") == "{\"a\":\"\\u003c/script>\\u003c!-- \\u003c/SCRIPT>\"}");
  CHECK(script_safe("a<b && c</d") == "a<b && c</d");
}

TEST_CASE("read_run: the newest committed index and the JSON files", "[report]") {
  test::TempDir dir;
  const std::string out = dir / "run";
  make_run(out);
  const RunData run = read_run(out);
  CHECK(run.index.generation == 1);
  CHECK(run.index.history.size() == 8);
  CHECK(run.task == "gan");
  CHECK(run.steps == 3);
  CHECK(run.rows.size() == 8);  // generation 2 is not committed
  REQUIRE(run.timings.size() == 1);
  CHECK(run.timings[0].train_phase_seconds() == 2.5);
  CHECK(run.summary.present);
  CHECK(run.summary.fitness == 0.9);
  CHECK(run.summary.test_score == 0.85);
  REQUIRE(run.notes.size() == 2);
  CHECK(run.notes[0].find("generation 2 has no index.h5") != std::string::npos);
  const FitnessSeries s = fitness_series(run);
  CHECK(s.generations == 2);
  CHECK(s.best[1] == Approx(0.7));  // member 0
  CHECK(s.median[0] == Approx(0.15));
  CHECK(s.replaced.size() == 4);
  CHECK(s.children.size() == 2);  // born after generation 0; those born after 1 have not trained yet
  CHECK_THROWS_WITH(read_run(dir / "nothing"), Catch::Contains("pass the --out folder"));
  std::filesystem::create_directories(dir / "empty");
  CHECK_THROWS_WITH(read_run(dir / "empty"), Catch::Contains("has no gen_* folder"));
}

TEST_CASE("write_png writes a valid PNG of the fitness plot", "[report]") {
  test::TempDir dir;
  FitnessSeries s;
  s.generations = 3;
  s.members = {{0.1, 0.2, 0.3}, {0.2, NAN, 0.25}};
  s.best = {0.2, 0.2, 0.3};
  s.median = {0.15, 0.2, 0.275};
  s.replaced = {{1, 1}};
  s.children = {{2, 1}};
  write_png(dir / "f.png", plot_fitness(s));
  const std::string png = read(dir / "f.png");
  REQUIRE(png.size() > 33);
  CHECK(png.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0);
  CHECK(png.compare(12, 4, "IHDR") == 0);
  CHECK(static_cast<unsigned char>(png[18]) * 256 + static_cast<unsigned char>(png[19]) == 1200);
  CHECK(static_cast<unsigned char>(png[22]) * 256 + static_cast<unsigned char>(png[23]) == 640);
}

TEST_CASE("write_run_report: one self-contained page and the figures", "[report]") {
  test::TempDir dir;
  const std::string out = dir / "run";
  make_run(out);
  write(dir / "chart.js", "window.Chart = function () {}; // </script> inside a comment\n");
  ReportOptions opt;
  opt.chart_js = dir / "chart.js";
  opt.html_path = dir / "pages/r.html";
  if (find_program("dot").empty()) {
    CHECK_THROWS_WITH(write_run_report(out, opt), Catch::Contains("apt-get install graphviz"));
    return;
  }
  const ReportFiles files = write_run_report(out, opt);
  CHECK(files.html == opt.html_path);
  const std::string html = read(files.html);
  CHECK(html.find("&lt;/pre&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more") != std::string::npos);
  CHECK(html.find("<script>alert") == std::string::npos);
  CHECK(html.find("window.Chart = function () {}; // \\u003c/script>") != std::string::npos);
  CHECK(html.find("<canvas id=\"fitness-chart\">") != std::string::npos);
  CHECK(html.find("<svg") != std::string::npos);
  CHECK(html.find("src=\"http") == std::string::npos);  // nothing from the network
  CHECK(html.find("step 2 of 3") != std::string::npos);
  CHECK(html.find("fid <b>12.5</b>") != std::string::npos);
  CHECK(html.find("(fitness)") != std::string::npos);  // no task words given: plain "fitness"
  // The task's words come from whoever knows the tasks (the command line asks the registry).
  opt.task_words = [](const std::string& task) { return TaskWords{"named-" + task, "words of the task"}; };
  const std::string worded = read(write_run_report(out, opt).html);
  CHECK(worded.find("fitness: words of the task") != std::string::npos);
  opt.task_words = nullptr;
  for (const char* f : {"report/fitness.png", "report/lineage.png", "report/lineage.svg"})
    CHECK(std::filesystem::file_size(out + "/" + f) > 100);
  opt.chart_js = dir / "missing.js";
  CHECK_THROWS_WITH(write_run_report(out, opt), Catch::Contains("apt-get install libjs-chart.js"));
}

TEST_CASE("write_run_report: with measured costs a Pareto front scatter, without them none", "[report]") {
  test::TempDir dir;
  const std::string out = dir / "run";
  make_run(out);
  write(dir / "chart.js", "window.Chart = function () {};\n");
  ReportOptions opt;
  opt.chart_js = dir / "chart.js";
  opt.html_path = dir / "plain.html";
  if (find_program("dot").empty()) PBTNAS_SKIP("Graphviz dot is not installed (apt-get install graphviz)");
  CHECK(read(write_run_report(out, opt).html).find("id=\"front\"") == std::string::npos);
  // Generation 1 (the committed one): fitness 0.7, 0.4, 0.5, 0.6 against 400, 100, 300, 200
  // parameters: the front is members 0, 1 and 3 (2 is dominated by 3).
  std::string metrics;
  const double fitness[] = {0.7, 0.4, 0.5, 0.6};
  const int params[] = {400, 100, 300, 200};
  for (int m = 0; m < 4; ++m)
    metrics += "{\"architecture\":\"conv tanh none\",\"diverged\":false,\"epoch\":4,\"fitness\":" +
               std::to_string(fitness[m]) + ",\"generation\":1,\"member\":" + std::to_string(m) +
               ",\"parameters\":" + std::to_string(params[m]) + ",\"samples\":10,\"train_loss\":1.0,"
               "\"train_seconds\":0.5}\n";
  write(out + "/metrics.jsonl", metrics);
  opt.html_path = dir / "front.html";
  const std::string html = read(write_run_report(out, opt).html);
  CHECK(html.find("id=\"front\"") != std::string::npos);
  CHECK(html.find("Front (3 of 4): members 0 1 3.") != std::string::npos);
  CHECK(html.find("member 2: fitness 0.5, parameters 300</title>") != std::string::npos);
  CHECK(html.find("member 3: fitness 0.6, parameters 200 (Pareto front)</title>") != std::string::npos);
  CHECK(html.find("latency") == std::string::npos);  // not measured: no latency plot
}

TEST_CASE("write_run_report: the trajectories of hyperparameter genes, only for runs with them", "[report]") {
  test::TempDir dir;
  if (find_program("dot").empty()) PBTNAS_SKIP("Graphviz (dot) is not installed: apt-get install graphviz");
  write(dir / "chart.js", "window.Chart = function () {};\n");
  ReportOptions opt;
  opt.chart_js = dir / "chart.js";
  make_run(dir / "plain");
  opt.html_path = dir / "plain.html";
  CHECK(read(write_run_report(dir / "plain", opt).html).find("id=\"hyperparameters\"") == std::string::npos);
  make_run(dir / "hyper", true);
  opt.html_path = dir / "hyper.html";
  const std::string html = read(write_run_report(dir / "hyper", opt).html);
  const auto at = html.find("<section id=\"hyperparameters\"><h2>Hyperparameter genes</h2>");
  REQUIRE(at != std::string::npos);
  const std::string section = html.substr(at, html.find("</section>", at) - at);
  CHECK(section.find("<summary>lr: 4 slots") != std::string::npos);
  CHECK(section.find(">0.01</td>") != std::string::npos);   // slot 2's value in each generation
  CHECK(section.find(">0.001</td>") != std::string::npos);
  CHECK(section.find("\u2605") != std::string::npos);        // the best-ever member
}
