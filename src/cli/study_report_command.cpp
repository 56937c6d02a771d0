// `pbtnas study-report` (docs/study.md): reads OUT/study_runs.tsv and every run's summary.json and
// metrics.jsonl, and writes OUT/study.json, OUT/study.md and OUT/study.png; with --pooled, the
// signed-rank tests over several study folders (OUT/pooled.md, OUT/pooled.json).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/study_files.hpp"
#include "pbtnas/core/study.hpp"
#include "pbtnas/report/study_markdown.hpp"
#include "pbtnas/report/study_plot.hpp"
#include "pbtnas/tasks/image_grid.hpp"
#include "pbtnas/util/files.hpp"

namespace pbtnas::cli {

namespace study_files {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_atomic(const std::string& path, const std::string& text) {
  try {
    write_text_file_atomic(path, text);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(e.what()) + "; check that the study folder is writable");
  }
}

}  // namespace study_files

namespace {

using study_files::kPlanFile;
using study_files::read_text;
using study_files::write_atomic;
namespace fs = std::filesystem;
const double kNaN = std::numeric_limits<double>::quiet_NaN();


nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
nlohmann::json nums(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v) a.push_back(num(x));
  return a;
}

RunOutcome read_outcome(const std::string& out, const Study& st, const StudyRun& r) {
  RunOutcome o;
  o.run = r.index;
  o.final_metric = kNaN;
  const fs::path dir = fs::path(out) / r.dir;
  // Best fitness per generation from metrics.jsonl (a resumed run's file holds each generation once).
  std::vector<double> best;
  if (std::ifstream in{dir / "metrics.jsonl"}) {
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      try {
        const auto j = nlohmann::json::parse(line);
        const auto g = j.at("generation").get<std::int64_t>();
        if (g < 0 || g > 1000000) continue;
        if (best.size() <= static_cast<std::size_t>(g)) best.resize(static_cast<std::size_t>(g) + 1, kNaN);
        if (!j.at("fitness").is_number()) continue;  // null: diverged
        const double f = j.at("fitness").get<double>();
        double& b = best[static_cast<std::size_t>(g)];
        if (std::isfinite(f) && (!std::isfinite(b) || f > b)) b = f;
      } catch (const std::exception&) {
        // a line cut by a crash
      }
    }
  }
  o.best_per_generation = best;
  const fs::path summary = dir / "summary.json";
  if (!fs::exists(summary)) {
    o.note = fs::exists(dir / "checkpoints") ? "interrupted (no summary.json yet; rerun the study to resume it)"
                                             : "not started";
    return o;
  }
  o.finished = true;
  try {
    const auto j = nlohmann::json::parse(read_text(summary.string()));
    const auto& be = j.at("best_ever");
    // The final population's best member's search fitness in the last generation: the last entry
    // of its fitness history (summary.json), else the last generation's best in metrics.jsonl.
    const bool history = j.contains("fitness_history") && j.at("fitness_history").is_array() &&
                         !j.at("fitness_history").empty();
    if (history && j.at("fitness_history").back().is_number())
      o.best_last_fitness = j.at("fitness_history").back().get<double>();
    else if (!history && !best.empty() && std::isfinite(best.back()))
      o.best_last_fitness = best.back();
    if (be.contains("fitness") && be.at("fitness").is_number()) o.best_ever_fitness = be.at("fitness").get<double>();
    if (st.metric == kBestLastFitness) {
      o.final_metric = o.best_last_fitness;
      if (!std::isfinite(o.final_metric))
        o.note = history ? "the final population's best fitness is null (diverged) in " + summary.string()
                         : summary.string() + " has no fitness_history and metrics.jsonl no finite fitness of the last generation";
    } else if (st.metric == kBestEverFitness) {
      if (be.at("fitness").is_number()) o.final_metric = be.at("fitness").get<double>();
      else o.note = "best_ever.fitness is null in " + summary.string();
    } else if (be.contains("error")) {
      o.note = "the final evaluation failed: " + be.at("error").get<std::string>();
    } else if (!be.contains("evaluation") || !be.at("evaluation").contains(st.metric)) {
      std::string names;
      if (be.contains("evaluation"))
        for (auto it = be.at("evaluation").begin(); it != be.at("evaluation").end(); ++it)
          names += (names.empty() ? "" : ", ") + it.key();
      o.note = summary.string() + " has no best_ever.evaluation." + st.metric + " (it has: " +
               (names.empty() ? "none" : names) + "; best_ever_fitness is always there)";
    } else if (be.at("evaluation").at(st.metric).is_number()) {
      o.final_metric = be.at("evaluation").at(st.metric).get<double>();
    } else {
      o.note = st.metric + " is null (not finite) in " + summary.string();
    }
  } catch (const std::exception& e) {
    o.note = summary.string() + " cannot be read: " + e.what();
  }
  return o;
}

// The paired test's numbers (study.json, pooled.json).
nlohmann::json signed_rank_json(const SignedRankTest& t, bool valid) {
  nlohmann::json x = {{"test", "Wilcoxon signed-rank of reference - other"},
                      {"alternative", alternative_name(t.alternative)},
                      {"zero_method", "wilcox (zero differences dropped)"}};
  if (!valid) {
    x["pairs"] = 0;
    x["p"] = nullptr;
    x["method"] = "not tested: no pairs";
    return x;
  }
  x["pairs"] = t.pairs;
  x["zeros"] = t.zeros;
  x["n"] = t.n;
  x["w_plus"] = t.w_plus;
  x["w_minus"] = t.w_minus;
  x["p"] = t.p;
  x["ties"] = t.ties;
  x["method"] = t.n == 0 ? "no nonzero difference (p = 1)"
                : t.exact ? "exact (the null distribution over all 2^n signs, counted)"
                          : "normal approximation (tie correction, no continuity correction)";
  if (t.n > 0 && !t.exact) x["z"] = t.z;
  return x;
}

nlohmann::json report_json(const Study& st, const StudyReport& rep, const std::vector<RunOutcome>& outcomes) {
  nlohmann::json j;
  j["study"] = st.path;
  j["metric"] = rep.metric;
  j["goal"] = rep.higher_is_better ? "max" : "min";
  j["std"] = "population standard deviation (divided by n)";
  j["variants"] = nlohmann::json::array();
  for (const auto& v : rep.variants) {
    j["variants"].push_back({{"name", v.name},
                             {"set", v.overrides},
                             {"n", v.values.size()},
                             {"seeds", v.seeds},
                             {"values", nums(v.values)},
                             {"mean", num(v.mean)},
                             {"std", num(v.std)},
                             {"min", num(v.min)},
                             {"max", num(v.max)},
                             {"search_fitness",
                              {{"best_ever_fitness", {{"mean", num(v.best_ever_mean)}, {"std", num(v.best_ever_std)}, {"n", v.best_ever_n}}},
                               {"best_last_fitness", {{"mean", num(v.best_last_mean)}, {"std", num(v.best_last_std)}, {"n", v.best_last_n}}}}},
                             {"best_fitness_per_generation",
                              {{"mean", nums(v.gen_mean)},
                               {"std", nums(v.gen_std)},
                               {"min", nums(v.gen_min)},
                               {"max", nums(v.gen_max)},
                               {"n", v.gen_n}}}});
  }
  j["comparisons"] = nlohmann::json::array();
  for (const auto& c : rep.comparisons) {
    nlohmann::json x = {{"reference", c.reference},
                        {"other", c.other},
                        {"test", "Wilcoxon rank-sum (Mann-Whitney U)"},
                        {"alternative", alternative_name(c.test.alternative)}};
    if (c.valid) {
      x["n1"] = c.test.n1;
      x["n2"] = c.test.n2;
      x["rank_sum"] = c.test.rank_sum1;
      x["u"] = c.test.u1;
      x["p"] = c.test.p;
      x["method"] = c.test.exact ? "exact (the null distribution over all splits of the pooled mid-ranks, counted)"
                                 : "normal approximation (tie and continuity corrections)";
      x["ties"] = c.test.ties;
      if (!c.test.exact) x["z"] = c.test.z;
    } else {
      x["p"] = nullptr;
      x["method"] = "not tested: no values on one side";
    }
    nlohmann::json sr = signed_rank_json(c.paired, c.paired_valid);
    sr["seeds"] = c.paired_seeds;
    x["signed_rank"] = sr;
    j["comparisons"].push_back(x);
  }
  j["runs"] = nlohmann::json::array();
  for (const auto& o : outcomes) {
    const StudyRun& r = st.runs.at(static_cast<std::size_t>(o.run));
    nlohmann::json x = {{"index", r.index},
                        {"variant", r.variant_name},
                        {"seed", r.seed},
                        {"folder", r.dir},
                        {"finished", o.finished},
                        {"final_metric", num(o.final_metric)},
                        {"best_ever_fitness", num(o.best_ever_fitness)},
                        {"best_last_fitness", num(o.best_last_fitness)},
                        {"best_fitness_per_generation", nums(o.best_per_generation)}};
    if (!o.note.empty()) x["note"] = o.note;
    j["runs"].push_back(x);
  }
  j["missing"] = rep.missing;
  return j;
}

// A study folder's plan, its runs' outcomes and their statistics.
StudyReport read_study_folder(const std::string& out, Study& st, std::vector<RunOutcome>& outcomes) {
  const std::string plan_path = (fs::path(out) / kPlanFile).string();
  if (!fs::exists(plan_path))
    throw std::invalid_argument(plan_path + " is missing: is " + out + " the --out of a `pbtnas study`? (`pbtnas study STUDY --out " +
                                out + " --list` does not write it; any run of the study does)");
  st = parse_plan(read_text(plan_path), plan_path);
  outcomes.clear();
  for (const auto& r : st.runs) outcomes.push_back(read_outcome(out, st, r));
  return summarize_study(st, outcomes);
}

nlohmann::json pooled_json(const PooledReport& rep) {
  nlohmann::json j;
  j["settings"] = rep.settings;
  j["metric"] = rep.metric;
  j["goal"] = rep.higher_is_better ? "max" : "min";
  j["reference"] = rep.reference;
  j["std"] = "population standard deviation (divided by n)";
  j["per_setting"] = nlohmann::json::array();
  for (std::size_t i = 0; i < rep.studies.size(); ++i)
    for (const auto& v : rep.studies[i].variants)
      j["per_setting"].push_back({{"setting", rep.settings[i]},
                                  {"variant", v.name},
                                  {"n", v.values.size()},
                                  {"seeds", v.seeds},
                                  {"values", nums(v.values)},
                                  {"mean", num(v.mean)},
                                  {"std", num(v.std)}});
  j["comparisons"] = nlohmann::json::array();
  for (const auto& c : rep.comparisons) {
    nlohmann::json x = signed_rank_json(c.test, c.valid);
    x["reference"] = c.reference;
    x["other"] = c.other;
    nlohmann::json pairs = nlohmann::json::array();
    for (const auto& p : c.pairs)
      pairs.push_back({{"setting", p.setting}, {"seed", p.seed}, {"reference", p.reference}, {"other", p.other}});
    x["pair_values"] = pairs;
    j["comparisons"].push_back(x);
  }
  j["notes"] = rep.notes;
  nlohmann::json missing = nlohmann::json::array();
  for (std::size_t i = 0; i < rep.studies.size(); ++i)
    for (const auto& m : rep.studies[i].missing) missing.push_back(rep.settings[i] + ": " + m);
  j["missing"] = missing;
  return j;
}

int pooled_report(const StudyReportOptions& o) {
  try {
    if (o.out.empty()) throw std::invalid_argument("--out is empty; pass the folder for pooled.md and pooled.json (created if needed)");
    std::vector<std::string> names;
    std::vector<StudyReport> reports;
    std::vector<fs::path> seen;
    for (const auto& dir : o.dirs) {
      std::string name = fs::path(dir).lexically_normal().string();
      while (name.size() > 1 && name.back() == '/') name.pop_back();
      std::error_code ec;
      const fs::path canon = fs::weakly_canonical(dir, ec);
      for (std::size_t k = 0; k < seen.size(); ++k)
        if (!ec && canon == seen[k])
          throw std::invalid_argument(dir + " and " + o.dirs[k] + " are the same folder; pass each setting's study folder once");
      seen.push_back(ec ? fs::path(dir) : canon);
      Study st;
      std::vector<RunOutcome> outcomes;
      reports.push_back(read_study_folder(dir, st, outcomes));
      names.push_back(name);
    }
    const PooledReport rep = pool_studies(names, reports);
    const std::string md = pooled_markdown(rep);
    write_atomic((fs::path(o.out) / "pooled.json").string(), pooled_json(rep).dump(2) + "\n");
    write_atomic((fs::path(o.out) / "pooled.md").string(), md);
    std::cout << md << "\nwritten: " << (fs::path(o.out) / "pooled.json").string() << ", "
              << (fs::path(o.out) / "pooled.md").string() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pbtnas study-report --pooled: " << e.what() << std::endl;
    return 2;
  }
}
}  // namespace


int study_report_command(const StudyReportOptions& o) {
  if (o.dirs.empty()) {
    std::cerr << "pbtnas study-report: pass a study folder (the --out of pbtnas study)" << std::endl;
    return 2;
  }
  if (o.pooled) return pooled_report(o);
  if (o.dirs.size() > 1) {
    std::cerr << "pbtnas study-report: " << o.dirs.size() << " folders given; add --pooled for one report over them "
              << "(paired by setting and seed, as the paper's tests), or run study-report once per folder" << std::endl;
    return 2;
  }
  if (o.out_given) {
    std::cerr << "pbtnas study-report: --out is for --pooled; the report of one study is written into its folder ("
              << o.dirs[0] << ")" << std::endl;
    return 2;
  }
  return study_report_command(o.dirs[0]);
}

int study_report_command(const std::string& out) {
  try {
    Study st;
    std::vector<RunOutcome> outcomes;
    const StudyReport rep = read_study_folder(out, st, outcomes);
    write_atomic((fs::path(out) / "study.json").string(), report_json(st, rep, outcomes).dump(2) + "\n");
    const std::string md = study_markdown(rep);
    write_atomic((fs::path(out) / "study.md").string(), md);
    const RgbImage img = plot_study(rep);
    write_png((fs::path(out) / "study.png").string(), img.width, img.height, 3, img.pixels.data());
    std::cout << md << "\nwritten: " << out << "/study.json, " << out << "/study.md, " << out << "/study.png" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pbtnas study-report: " << e.what() << std::endl;
    return 2;
  }
}

}  // namespace pbtnas::cli
