// Reading a run folder for the report: index.h5, metrics.jsonl, workers.jsonl, summary.json.
#include "pbtnas/report/run_data.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "pbtnas/core/config.hpp"
#include "pbtnas/index/run_dir.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace pbtnas::report {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

double number(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : kMissing;
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> words;
  std::istringstream in(s);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

GenerationTiming& timing_of(std::vector<GenerationTiming>& timings, std::int64_t gen) {
  for (auto& t : timings)
    if (t.generation == gen) return t;
  timings.push_back(GenerationTiming{});
  timings.back().generation = gen;
  return timings.back();
}

// Calls row(json) for every JSON object line; other lines become a note.
template <typename Row>
void for_each_json_line(const std::string& jsonl, const std::string& file, std::vector<std::string>& notes, Row&& row) {
  std::istringstream in(jsonl);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("generation") || !j["generation"].is_number_integer()) {
      notes.push_back(file + " line " + std::to_string(n) + " is not a JSON object with a generation: skipped");
      continue;
    }
    row(j);
  }
}

}  // namespace

double GenerationTiming::train_phase_seconds() const {
  if (std::isfinite(train_seconds)) return train_seconds;
  double slowest = kMissing;
  for (std::size_t w = 0; w < busy_seconds.size(); ++w) {
    const double t = busy_seconds[w] + (w < wait_seconds.size() ? wait_seconds[w] : 0.0);
    if (std::isfinite(t) && !(t <= slowest)) slowest = t;
  }
  return slowest;
}

std::vector<MemberRow> parse_metrics(const std::string& jsonl, std::vector<GenerationTiming>& timings,
                                     std::vector<std::string>& notes) {
  std::vector<MemberRow> rows;
  for_each_json_line(jsonl, "metrics.jsonl", notes, [&](const json& j) {
    const std::int64_t gen = j["generation"].get<std::int64_t>();
    if (!j.contains("member")) {  // a generation row (generations.jsonl): timings and traffic
      GenerationTiming& t = timing_of(timings, gen);
      t.train_seconds = number(j, "train_seconds");
      t.exploit_seconds = number(j, "exploit_seconds");
      t.checkpoint_seconds = number(j, "checkpoint_seconds");
      t.bytes_sent = number(j, "bytes_sent");
      return;
    }
    MemberRow r;
    r.generation = gen;
    r.member = j["member"].is_number_integer() ? j["member"].get<int>() : -1;
    r.epoch = j.value("epoch", 0);
    r.fitness = number(j, "fitness");
    r.diverged = j.value("diverged", false);
    r.train_loss = number(j, "train_loss");
    r.train_seconds = number(j, "train_seconds");
    r.parameters = number(j, "parameters");
    r.latency_ms = number(j, "latency_ms");
    if (j.contains("architecture") && j["architecture"].is_string())
      r.architecture = split_words(j["architecture"].get<std::string>());
    if (r.member >= 0) rows.push_back(std::move(r));
  });
  // A resumed run may have written a generation twice: the later row wins.
  std::stable_sort(rows.begin(), rows.end(), [](const MemberRow& a, const MemberRow& b) {
    return a.generation != b.generation ? a.generation < b.generation : a.member < b.member;
  });
  std::vector<MemberRow> unique;
  for (auto& r : rows) {
    if (!unique.empty() && unique.back().generation == r.generation && unique.back().member == r.member)
      unique.back() = std::move(r);
    else
      unique.push_back(std::move(r));
  }
  return unique;
}

void parse_workers(const std::string& jsonl, std::vector<GenerationTiming>& timings, std::vector<std::string>& notes) {
  for_each_json_line(jsonl, "workers.jsonl", notes, [&](const json& j) {
    const int rank = j.value("rank", 0);
    if (rank < 1) return;
    GenerationTiming& t = timing_of(timings, j["generation"].get<std::int64_t>());
    const auto w = static_cast<std::size_t>(rank - 1);
    if (t.busy_seconds.size() <= w) {
      t.busy_seconds.resize(w + 1, kMissing);
      t.wait_seconds.resize(w + 1, kMissing);
    }
    t.busy_seconds[w] = number(j, "busy_seconds");
    t.wait_seconds[w] = number(j, "wait_seconds");
  });
}

Summary parse_summary(const std::string& json_text) {
  Summary s;
  json j = json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return s;
  s.present = true;
  s.best_member = j.value("best_member", -1);
  // "fitness"/"test_score"; summaries written before they were renamed say "validation"/"test".
  s.fitness = number(j, j.contains("fitness") ? "fitness" : "validation");
  s.test_score = number(j, j.contains("test_score") ? "test_score" : "test");
  if (j.contains("scores") && j["scores"].is_object())
    for (const auto& [k, v] : j["scores"].items()) s.scores.emplace_back(k, v.is_number() ? v.get<double>() : kMissing);
  if (j.contains("parameters") && j["parameters"].is_number()) s.parameters = j["parameters"].get<long long>();
  if (j.contains("architecture") && j["architecture"].is_array())
    for (const auto& o : j["architecture"])
      if (o.is_string()) s.architecture.push_back(o.get<std::string>());
  if (j.contains("best_ever") && j["best_ever"].is_object()) {
    const json& b = j["best_ever"];
    s.best_ever_fitness = number(b, "fitness");
    s.best_ever_member = b.value("member", -1);
    s.best_ever_generation = b.value("generation", std::int64_t{-1});
    if (b.contains("parameters") && b["parameters"].is_number()) s.parameters = b["parameters"].get<long long>();
    if (b.contains("error") && b["error"].is_string()) s.evaluation_error = b["error"].get<std::string>();
    if (b.contains("evaluation") && b["evaluation"].is_object())
      for (const auto& [k, v] : b["evaluation"].items()) s.evaluation.emplace_back(k, v.is_number() ? v.get<double>() : kMissing);
  }
  if (j.contains("soup") && j["soup"].is_object()) {
    const json& so = j["soup"];
    s.has_soup = true;
    s.soup_best_member = so.value("best_member", -1);
    if (so.contains("members") && so["members"].is_array()) s.soup_members = so["members"].size();
    if (so.contains("candidates") && so["candidates"].is_array()) s.soup_candidates = so["candidates"].size();
    s.soup_fitness_name = so.value("fitness_name", std::string());
    if (so.contains("error") && so["error"].is_string()) s.soup_error = so["error"].get<std::string>();
    s.soup_fitness = number(so, "fitness");
    s.soup_best_fitness = number(so, "best_fitness");
    auto metrics = [&](const char* key, std::vector<std::pair<std::string, double>>& into) {
      if (so.contains(key) && so[key].is_object())
        for (const auto& [k, v] : so[key].items()) into.emplace_back(k, v.is_number() ? v.get<double>() : kMissing);
    };
    metrics("evaluation", s.soup_evaluation);
    metrics("best_member_evaluation", s.soup_best_evaluation);
  }
  return s;
}

void parse_config_keys(const std::string& yaml, std::string& task, int& steps) {
  task.clear();
  steps = 0;
  try {
    const RunConfig cfg = parse_config(yaml, "the run's config (index.h5)");
    task = cfg.task;
    steps = cfg.n_steps();
  } catch (const std::exception&) {
  }
}

RunData read_run(const std::string& out) {
  RunData run;
  run.out = out;
  if (!fs::is_directory(out)) throw std::runtime_error(out + " is not a folder: pass the --out folder of a pbtnas run");
  std::vector<std::int64_t> gens = io::list_generation_dirs(out);
  if (gens.empty())
    throw std::runtime_error(io::checkpoints_dir(out) + " has no gen_* folder: is " + out +
                             " the --out of a pbtnas run that committed a generation?");
  // The newest generation whose index reads: it holds the whole history.
  std::string errors;
  for (auto it = gens.rbegin(); it != gens.rend() && run.index_path.empty(); ++it) {
    const std::string path = io::index_file_path(out, *it);
    if (!fs::exists(path)) {
      run.notes.push_back("generation " + std::to_string(*it) + " has no index.h5 (not committed): not shown");
      continue;
    }
    try {
      run.index = io::read_index(path);
      run.index_path = path;
    } catch (const std::exception& e) {
      run.notes.push_back(std::string("skipped an unreadable index: ") + e.what());
      errors += std::string("\n  ") + e.what();
    }
  }
  if (run.index_path.empty()) throw std::runtime_error("no readable index.h5 under " + io::checkpoints_dir(out) + errors);
  parse_config_keys(run.index.config_yaml, run.task, run.steps);

  const std::string metrics = (fs::path(out) / "metrics.jsonl").string();
  if (fs::exists(metrics)) {
    run.rows = parse_metrics(read_text(metrics), run.timings, run.notes);
    const auto before = run.rows.size();
    run.rows.erase(std::remove_if(run.rows.begin(), run.rows.end(),
                                  [&](const MemberRow& r) { return r.generation > run.index.generation; }),
                   run.rows.end());
    if (run.rows.size() != before)
      run.notes.push_back("metrics.jsonl rows of generations after the committed generation " +
                          std::to_string(run.index.generation) + " were left out");
  } else {
    run.notes.push_back("metrics.jsonl is missing: no per-generation fitness or architectures to show");
  }
  // One row per generation (timings of its phases, bytes exchanged): the same fields as a
  // generation row of metrics.jsonl.
  const std::string generations = (fs::path(out) / "generations.jsonl").string();
  if (fs::exists(generations)) parse_metrics(read_text(generations), run.timings, run.notes);
  const std::string workers = (fs::path(out) / "workers.jsonl").string();
  if (fs::exists(workers)) parse_workers(read_text(workers), run.timings, run.notes);
  run.timings.erase(std::remove_if(run.timings.begin(), run.timings.end(),
                                   [&](const GenerationTiming& t) { return t.generation > run.index.generation; }),
                    run.timings.end());
  std::sort(run.timings.begin(), run.timings.end(),
            [](const GenerationTiming& a, const GenerationTiming& b) { return a.generation < b.generation; });
  const std::string summary = (fs::path(out) / "summary.json").string();
  if (fs::exists(summary)) run.summary = parse_summary(read_text(summary));
  return run;
}

}  // namespace pbtnas::report
