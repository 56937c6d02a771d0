// The run directory as the coordinator's RunReport (LogRunReport): progress lines, the JSON Lines
// logs and summary.json.
#include "pbtnas/io/run_files.hpp"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/io/member_file.hpp"
#include "pbtnas/index/run_dir.hpp"

namespace pbtnas::io {
namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

// "gen 5 [6/8]": generations are numbered from 0 everywhere (folders, index files, summary.json,
// inspect); the bracket counts the steps of the run.
std::string generation_label(std::int64_t generation, int steps) {
  return "gen " + std::to_string(generation) + " [" + std::to_string(generation + 1) + "/" + std::to_string(steps) + "]";
}

// 41s, 6m10s, 2h05m
std::string duration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%lds", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  return buf;
}

}  // namespace

// ---------------------------------------------------------------- LogRunReport

LogRunReport::LogRunReport(std::string out, const RunConfig& cfg, const SearchSpace& space, Logger& log)
    : out_(std::move(out)), cfg_(cfg), space_(space), log_(log) {}

void LogRunReport::started(const RunStart& s) {
  std::error_code ec;
  std::filesystem::create_directories(out_, ec);
  if (!std::filesystem::is_directory(out_))
    throw std::runtime_error("cannot create the run folder --out " + out_ + " (" + ec.message() +
                             "); pass a folder path that can be created");
  metrics_ = std::make_unique<MetricsLog>(out_ + "/metrics.jsonl", s.resumed_after);
  workers_ = std::make_unique<MetricsLog>(out_ + "/workers.jsonl", s.resumed_after);
  // A run folder without generations.jsonl (a fork: a generation directory copied by hand) gets
  // no recovered row.
  const bool had_generations_log = std::filesystem::exists(out_ + "/generations.jsonl");
  generations_ = std::make_unique<MetricsLog>(out_ + "/generations.jsonl", s.resumed_after);
  if (had_generations_log && s.resumed_after >= 0 && generations_->last_kept_generation() == s.resumed_after - 1) {
    // The previous process was killed between the commit and its generation rows (the
    // coordinator writes them after the commit, when the commit's time is known).
    if (auto row = recovered_generation_row(metrics_->path(), s.resumed_after)) {
      generations_->append_json(*row);
      log_.warn("generation " + std::to_string(s.resumed_after + 1) +
                " was committed by a process that was killed before it logged the generation's timings; "
                "generations.jsonl gets a row rebuilt from metrics.jsonl (\"recovered\": true, no timings)");
    }
  }
  if (s.resumed_after >= 0) {
    log_.info("resuming from committed generation " + std::to_string(s.resumed_after) + " [" +
              std::to_string(s.resumed_after + 1) + "/" + std::to_string(s.steps) + "] in " + generation_dir(out_, s.resumed_after));
    return;
  }
  const std::string ablation =
      cfg_.shrink_perturb_always.enabled
          ? " with shrink-perturb before every step [" + fmt("%g", cfg_.shrink_perturb_always.shrink) + ", " +
                fmt("%g", cfg_.shrink_perturb_always.perturb) + "]"
          : std::string();
  log_.info("search: algorithm " + std::string(to_string(cfg_.algorithm)) + ablation + ", population " + std::to_string(s.population) +
            ", " + std::to_string(s.steps) + " steps of " + std::to_string(cfg_.epochs_step) + " epoch(s), search space '" +
            space_.name() + "' (" + std::to_string(space_.size()) + " genes, 10^" + fmt("%.1f", space_.log10_cardinality()) +
            " architectures), " + std::to_string(s.workers) + " workers, output " + s.location);
}

void LogRunReport::scored(const GenerationSummary& s) {
  for (const auto& r : s.reports) {
    MetricsRow row{s.generation, s.next_epoch, r.member, r.fitness, r.train_loss, r.samples, r.train_seconds, r.diverged, ""};
    for (const auto& o : space_.option_names(s.genomes.at(static_cast<std::size_t>(r.member))))
      row.architecture += (row.architecture.empty() ? "" : " ") + o;
    if (cfg_.selection.needs(Objective::Parameters)) row.parameters = r.parameters;
    if (cfg_.selection.needs(Objective::LatencyMs)) row.latency_ms = r.latency_ms;
    if (metrics_) metrics_->append(row);
    if (r.diverged)
      log_.info("  member " + std::to_string(r.member) + " diverged (non-finite loss): fitness -inf, it will be replaced");
  }
}

void LogRunReport::progress(const TrainingProgress& p) {
  if (!log_.redraw()) {
    if (p.generation == last_plain_generation_ && p.elapsed_seconds - last_plain_progress_ < kPlainProgressSeconds) return;
    last_plain_generation_ = p.generation;
    last_plain_progress_ = p.elapsed_seconds;
  }
  std::ostringstream line;
  line << "  " << generation_label(p.generation, p.steps) << " training: " << p.members_done << "/" << p.members
       << " members done";
  if (p.running > 0) line << ", " << p.running << " running";
  line << ", " << fmt("%.0f", 100.0 * p.fraction) << "%  elapsed " << duration(p.elapsed_seconds);
  if (p.eta_generation_seconds >= 0.0)
    line << "  ETA " << duration(p.eta_generation_seconds) << " (run " << duration(p.eta_run_seconds) << ")";
  log_.status(line.str());
}

void LogRunReport::generation(const GenerationSummary& s) {
  std::ostringstream line;
  line << generation_label(s.generation, s.steps) << "  epoch " << s.next_epoch << "  best "
       << fmt("%.4f", s.best_fitness) << " (member " << s.best_member << ")  median " << fmt("%.4f", s.median_fitness)
       << "  | train " << fmt("%.1f", s.train_seconds) << "s exploit " << fmt("%.2f", s.exploit_seconds) << "s ckpt "
       << fmt("%.2f", s.checkpoint_seconds) << "s  busy " << fmt("%.0f", 100.0 * s.busy_share) << "%";
  if (!s.plan.empty()) line << "  | " << fmt("%.1f", s.bytes_sent / 1048576.0) << " MiB sent";
  if (s.members_moved > 0) line << "  | " << s.members_moved << " member(s) moved to balance the workers";
  // The worker that held the others back, when one did clearly: it trained at least 1 s and 20 %
  // of the training phase longer than the next busiest worker (a slow node, or uneven members).
  if (s.worker_busy_seconds.size() > 1) {
    std::size_t slowest = 0;
    for (std::size_t w = 1; w < s.worker_busy_seconds.size(); ++w)
      if (s.worker_busy_seconds[w] > s.worker_busy_seconds[slowest]) slowest = w;
    double next = 0.0, longest_wait = 0.0;
    for (std::size_t w = 0; w < s.worker_busy_seconds.size(); ++w) {
      if (w == slowest) continue;
      next = std::max(next, s.worker_busy_seconds[w]);
      longest_wait = std::max(longest_wait, s.worker_wait_seconds[w]);
    }
    const double lead = s.worker_busy_seconds[slowest] - next;
    if (lead >= 1.0 && lead >= 0.2 * s.train_seconds)
      line << "  | held back by rank " << slowest + 1 << " on host "
           << (slowest < s.worker_hosts.size() ? s.worker_hosts[slowest] : std::string("?")) << " (trained "
           << fmt("%.1f", s.worker_busy_seconds[slowest]) << "s, the others waited up to " << fmt("%.1f", longest_wait)
           << "s)";
  }
  for (std::size_t w = 0; w < s.worker_busy_seconds.size(); ++w) {
    if (workers_) {
      nlohmann::json row{{"generation", s.generation},
                         {"rank", w + 1},
                         {"busy_seconds", s.worker_busy_seconds[w]},
                         {"wait_seconds", s.worker_wait_seconds[w]}};
      if (w < s.worker_hosts.size()) row["host"] = s.worker_hosts[w];
      workers_->append_json(row.dump());
    }
  }
  if (generations_)
    generations_->append_json(nlohmann::json{{"generation", s.generation},
                                             {"epoch", s.next_epoch},
                                             {"best_member", s.best_member},
                                             {"best_fitness", number_or_null(s.best_fitness)},
                                             {"median_fitness", number_or_null(s.median_fitness)},
                                             {"train_seconds", s.train_seconds},
                                             {"exploit_seconds", s.exploit_seconds},
                                             {"checkpoint_seconds", s.checkpoint_seconds},
                                             {"bytes_sent", s.bytes_sent},
                                             {"children", s.plan.children.size()},
                                             {"busy_share", s.busy_share},
                                             {"plan_seconds", s.plan_seconds},
                                             {"checkpoint_write_seconds", s.checkpoint_write_seconds},
                                             {"members_moved", s.members_moved},
                                             {"coordinator_peak_rss_bytes", s.coordinator_peak_rss_bytes},
                                             {"worker_peak_rss_bytes", s.worker_peak_rss_bytes},
                                             {"worker_pss_bytes", s.worker_pss_bytes}}
                                  .dump());
  log_.info(line.str());
  for (const auto& c : s.plan.children) {
    std::ostringstream l;
    l << "    " << c.slot << " <- " << c.parent1;
    if (c.kind == ChildKind::Mix) l << " + " << c.parent2 << " (" << (c.parent1 == c.parent2 ? "self-" : "") << "mix";
    else l << " (" << to_string(c.kind);
    if (!c.swapped_genes.empty()) {
      l << "; genes";
      for (int gi : c.swapped_genes) l << ' ' << space_.gene(static_cast<std::size_t>(gi)).name;
    }
    l << ")";
    log_.info(l.str());
  }
}

// A path in summary.json: relative to the run folder when it lies inside it, so that the summary
// stays right when the folder is copied or moved.
std::string LogRunReport::in_run(const std::string& path) const {
  const std::filesystem::path p = std::filesystem::path(path).lexically_normal();
  const std::filesystem::path rel = p.lexically_relative(std::filesystem::path(out_).lexically_normal());
  if (rel.empty() || *rel.begin() == "..") return path;
  return rel.string();
}

void LogRunReport::finished(const RunResult& r) {
  const FinalReport& f = r.final_report;
  // The final population's best member in the task's words (Task::final_scores).
  std::string done = "done: best member " + std::to_string(r.best_member);
  nlohmann::json scores = nlohmann::json::object();
  for (std::size_t i = 0; i < f.score_names.size() && i < f.score_values.size(); ++i) {
    done += "  " + f.score_names[i] + " " + fmt("%.4g", f.score_values[i]);
    scores[f.score_names[i]] = number_or_null(f.score_values[i]);
  }
  if (f.score_names.empty()) done += "  fitness " + fmt("%.4f", f.fitness) + "  test score " + fmt("%.4f", f.test_score);
  log_.info(done + "  parameters " + std::to_string(f.parameters));
  log_.info("  architecture: " + space_.describe(r.genome));
  log_.info("  checkpoint:   " + r.checkpoint + "   (pbtnas inspect " + r.checkpoint + ")");
  nlohmann::json j;
  j["best_member"] = r.best_member;
  j["scores"] = scores;          // in the task's words (Task::final_scores)
  j["fitness"] = number_or_null(f.fitness);        // the same two under the Task interface's names
  j["test_score"] = number_or_null(f.test_score);
  j["parameters"] = f.parameters;
  j["architecture"] = space_.option_names(r.genome);
  nlohmann::json genes = nlohmann::json::object();
  const auto options = space_.option_names(r.genome);
  for (std::size_t g = 0; g < options.size() && g < space_.size(); ++g) genes[space_.gene(g).name] = options[g];
  j["genes"] = genes;  // the architecture by gene name (nlohmann::json sorts the names)
  j["genome"] = r.genome;
  j["fitness_history"] = r.fitness_history;
  j["best_ever"] = {{"fitness", r.best_ever.fitness}, {"member", r.best_ever.member}, {"generation", r.best_ever.generation}};
  if (r.has_best_ever_report) best_ever_json(r, j["best_ever"]);
  if (r.has_soup_report) j["soup"] = soup_json(r.soup_report);
  j["workers"] = workers_json();
  j["checkpoint"] = in_run(r.checkpoint);
  j["algorithm"] = to_string(cfg_.algorithm);
  j["seed"] = cfg_.seed;
  if (!r.pareto_front.empty()) j["pareto_front"] = pareto_json(r);
  write_text_file_atomic(out_ + "/summary.json", j.dump(2) + "\n");
}

// summary.json's best_ever: the best-ever member's final evaluation (and its log line).
void LogRunReport::best_ever_json(const RunResult& r, nlohmann::json& b) const {
  const BestEverReport& be = r.best_ever_report;
  b["file"] = in_run(r.best_ever_file);
  if (!be.error.empty()) {
    b["error"] = be.error;
    log_.warn("final evaluation of " + r.best_ever_file + " failed: " + be.error);
  } else {
    std::string line = "best ever: member " + std::to_string(be.member) + " of generation " +
                       std::to_string(be.generation) + " (fitness " + fmt("%.4f", r.best_ever.fitness) + ")";
    nlohmann::json metrics = nlohmann::json::object();
    for (std::size_t i = 0; i < be.metric_names.size(); ++i) {
      metrics[be.metric_names[i]] = number_or_null(be.metric_values[i]);
      line += "  " + be.metric_names[i] + " " + fmt("%.6g", be.metric_values[i]);
    }
    b["evaluation"] = metrics;
    b["parameters"] = be.parameters;
    if (!be.preview.empty()) {
      b["samples"] = in_run(be.preview);
      line += "  samples " + be.preview;
    }
    log_.info(line);
  }
}

// summary.json's soup (final_soup: true) and its log line.
nlohmann::json LogRunReport::soup_json(const SoupReport& sr) const {
  nlohmann::json so;
  so["generation"] = sr.generation;
  if (!sr.error.empty()) {
    so["error"] = sr.error;
    log_.warn("final evaluation of the soup failed: " + sr.error);
  } else {
    so["best_member"] = sr.best_member;
    so["candidates"] = sr.candidates;
    so["members"] = sr.members;
    so["fitness_name"] = sr.fitness_name;
    so["best_fitness"] = number_or_null(sr.best_fitness);
    so["fitness"] = number_or_null(sr.fitness);
    std::string line = "soup of generation " + std::to_string(sr.generation) + ": " +
                       std::to_string(sr.members.size()) + " of " + std::to_string(sr.candidates.size()) +
                       " member(s) sharing member " + std::to_string(sr.best_member) + "'s architecture, " +
                       sr.fitness_name + " " + fmt("%.6g", sr.fitness) + " (member " + std::to_string(sr.best_member) +
                       " alone " + fmt("%.6g", sr.best_fitness) + ")";
    if (!sr.metric_names.empty()) {
      nlohmann::json best = nlohmann::json::object(), soup = nlohmann::json::object();
      line += "\n  final evaluation, soup:";
      for (std::size_t i = 0; i < sr.metric_names.size(); ++i) {
        soup[sr.metric_names[i]] = number_or_null(sr.soup_values[i]);
        best[sr.metric_names[i]] = number_or_null(sr.best_values[i]);
        line += "  " + sr.metric_names[i] + " " + fmt("%.6g", sr.soup_values[i]);
      }
      line += "\n  final evaluation, member " + std::to_string(sr.best_member) + " alone:";
      for (std::size_t i = 0; i < sr.metric_names.size(); ++i)
        line += "  " + sr.metric_names[i] + " " + fmt("%.6g", sr.best_values[i]);
      so["evaluation"] = soup;
      so["best_member_evaluation"] = best;
      so["file"] = in_run(sr.file);
      line += "\n  weights: " + sr.file;
    } else {
      line += "; no other member improved it, so the soup is that member";
    }
    log_.info(line);
  }
  return so;
}

// summary.json's workers: busy and waiting seconds per worker rank over the run's generations.
nlohmann::json LogRunReport::workers_json() const {
  nlohmann::json workers = nlohmann::json::array();
  for (const auto& w : worker_totals(workers_ ? workers_->path() : out_ + "/workers.jsonl")) {
    const double total = w.busy_seconds + w.wait_seconds;
    workers.push_back({{"rank", w.rank},
                       {"busy_seconds", w.busy_seconds},
                       {"wait_seconds", w.wait_seconds},
                       {"busy_share", total > 0.0 ? w.busy_seconds / total : 0.0}});
  }
  return workers;  // training-phase utilisation over the run's generations (workers.jsonl)
}

// summary.json's pareto_front: the final population's first non-dominated front
// (selection.objectives; docs/outputs.md).
nlohmann::json LogRunReport::pareto_json(const RunResult& r) const {
  nlohmann::json front = nlohmann::json::array();
  for (const auto& m : r.pareto_front) {
    nlohmann::json e = {{"member", m.member},
                        {"fitness", number_or_null(m.fitness)},
                        {"file", in_run(member_file_path(out_, r.front_generation, m.member))}};
    if (cfg_.selection.needs(Objective::Parameters)) e["parameters"] = m.parameters;
    if (cfg_.selection.needs(Objective::LatencyMs)) e["latency_ms"] = m.latency_ms;
    front.push_back(e);
  }
  return {{"objectives", r.objectives}, {"members", front}};
}

}  // namespace pbtnas::io
