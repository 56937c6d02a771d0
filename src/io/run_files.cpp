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

std::string run_folder_problem(const std::string& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (!fs::is_directory(out, ec))
      return "--out " + out + " is a file, not a folder; pass a folder path, new or holding this run";
    if (access(out.c_str(), W_OK) != 0)
      return "--out " + out + " is not writable; pass a folder that you can write";
    return "";
  }
  // The nearest existing parent must be a writable folder, so that the run folder can be created.
  fs::path parent = fs::absolute(fs::path(out), ec).parent_path();
  while (!parent.empty() && !fs::exists(parent, ec) && parent != parent.root_path()) parent = parent.parent_path();
  if (!fs::is_directory(parent, ec))
    return "cannot create the run folder --out " + out + ": " + parent.string() +
           " is not a folder; pass a folder path that can be created";
  if (access(parent.c_str(), W_OK) != 0)
    return "cannot create the run folder --out " + out + ": " + parent.string() +
           " is not writable; pass a folder path that can be created";
  return "";
}

// ---------------------------------------------------------------- H5RunStore

H5RunStore::H5RunStore(std::string out, const RunConfig& cfg, const SearchSpace& space, Logger& log,
                       ConfigCheck check)
    : out_(std::move(out)), cfg_(cfg), space_(space), log_(log), check_(std::move(check)) {
  if (out_.empty()) throw std::runtime_error("--out is empty; pass the run folder (created if needed)");
  // Nothing is created before the workers are ready (LogRunReport::started creates the folder).
  const std::string why = run_folder_problem(out_);
  if (!why.empty()) throw std::runtime_error(why);
}

std::optional<CommittedState> H5RunStore::resume() {
  if (!std::filesystem::exists(out_)) return std::nullopt;
  const auto g = resume_generation(out_, [this](std::int64_t, const std::string& why) { log_.info("resume: " + why); });
  if (!g) return std::nullopt;
  const GenerationIndex idx = read_index(index_file_path(out_, *g));
  if (check_) {
    const ConfigVerdict v = check_(idx.config_yaml, idx.next_epoch);
    if (!v.refusal.empty()) throw std::runtime_error(out_ + " " + v.refusal + " (pbtnas status " + out_ + ")");
    if (!v.note.empty()) log_.info("resume: " + v.note);
  } else if (idx.config_yaml != cfg_.source_text) {
    throw std::runtime_error(out_ + " holds a run made with another config (pbtnas status " + out_ +
                             "); use a new --out, or the same config to resume it");
  }
  restore_best_ever(idx);
  CommittedState s;
  s.generation = *g;
  s.members = idx.members;
  s.history = idx.history;
  s.best_ever = {idx.best_ever_fitness, idx.best_ever_member, idx.best_ever_generation};
  return s;
}

// best_ever.h5 must hold the member that the committed index names: it is copied right after
// each commit, so a process killed in between leaves it older (or absent), and an earlier pbtnas
// copied it before the commit, so it may hold a member of a generation that was never committed.
// The member's file of that generation is copied again. If that generation is gone (a resume
// from an older generation after a damaged one was moved away, or a file deleted by hand after
// pruning), the file is moved aside and the run ends without a best-ever evaluation.
void H5RunStore::restore_best_ever(const GenerationIndex& idx) {
  if (idx.best_ever_member < 0) return;
  const std::string path = best_ever_file_path(out_);
  const std::string wanted =
      "member " + std::to_string(idx.best_ever_member) + " of generation " + std::to_string(idx.best_ever_generation);
  std::string why;
  if (!std::filesystem::exists(path)) {
    why = "is missing";
  } else {
    try {
      const MemberFile m = read_member_file(path, /*load_tensors=*/false);
      if (m.id != idx.best_ever_member || m.generation != idx.best_ever_generation)
        why = "holds member " + std::to_string(m.id) + " of generation " + std::to_string(m.generation);
    } catch (const std::exception& e) {
      why = std::string("cannot be read (") + e.what() + ")";
    }
  }
  if (why.empty()) return;
  const std::string source = member_file_path(out_, idx.best_ever_generation, idx.best_ever_member);
  if (!std::filesystem::exists(source)) {
    // Never evaluate another member under the best-ever's name: a wrong or damaged file is moved
    // aside (kept, not deleted), and the run ends without a best-ever evaluation.
    std::string moved;
    if (std::filesystem::exists(path)) {
      moved = path + ".mismatched";
      std::filesystem::rename(path, moved);
    }
    log_.warn("resume: " + path + " " + why + ", not the best-ever " + wanted + " that the index names, and " + source +
              " is gone (pruned, checkpoint.keep); the run will end without a final evaluation of the best-ever member" +
              (moved.empty() ? std::string() : " (the file was moved to " + moved + ")"));
    return;
  }
  copy_file_atomic(source, path);
  log_.info("resume: " + path + " " + why + ", not the best-ever " + wanted +
            " (the previous process stopped before keeping it); copied again from " + source);
}

H5RunStore::~H5RunStore() {
  try {
    join_pruner();
  } catch (...) {
  }
}

void H5RunStore::join_pruner() {
  if (pruner_.joinable()) pruner_.join();
  if (!pruner_error_.empty()) log_.warn("pruning older generations: " + pruner_error_);
  pruner_error_.clear();
}

void H5RunStore::discard_after(std::int64_t generation) {
  if (std::filesystem::exists(out_)) discard_uncommitted(out_, generation);
}

bool H5RunStore::finished() const {
  // A summary whose final evaluation failed (an "error" under best_ever or soup) does not count:
  // running the run again redoes that evaluation (a study relies on it).
  std::ifstream in(out_ + "/summary.json");
  if (!in) return false;
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object()) return false;
  for (const char* key : {"best_ever", "soup"})
    if (j.contains(key) && j[key].is_object() && j[key].contains("error")) return false;
  return true;
}

void H5RunStore::keep_best_ever(std::int64_t generation, int member) {
  copy_file_atomic(member_file_path(out_, generation, member), best_ever_file_path(out_));
}

void H5RunStore::commit(const GenerationCommit& c) {
  GenerationIndex idx;
  idx.generation = c.state.generation;
  idx.next_epoch = c.next_epoch;
  idx.seed = cfg_.seed;
  idx.algorithm = to_string(cfg_.algorithm);
  idx.config_yaml = cfg_.source_text;
  idx.space_name = space_.name();
  for (const auto& gene : space_.genes()) {
    idx.gene_names.push_back(gene.name);
    idx.gene_options.push_back(gene.options);
  }
  idx.members = c.state.members;
  idx.history = c.state.history;
  for (const auto& f : c.files) idx.files.push_back({f.member, f.file, f.bytes, f.crc32});
  idx.best_ever_fitness = c.state.best_ever.fitness;
  idx.best_ever_member = c.state.best_ever.member;
  idx.best_ever_generation = c.state.best_ever.generation;
  join_pruner();
  std::vector<std::string> pruned;
  commit_generation(out_, idx, cfg_.checkpoint.keep, &pruned);
  if (!pruned.empty()) {
    try {
      pruner_ = std::thread([this, pruned] {
        try {
          remove_pruned(pruned);
        } catch (const std::exception& e) {
          pruner_error_ = e.what();
        }
      });
    } catch (const std::system_error&) {  // no thread to be had: delete them now
      remove_pruned(pruned);
    }
  }
  if (cfg_.crash_after_commit == c.state.generation) {
    // Testing hook: an exact crash point (rank 0 dies, the job with it) for resume tests.
    log_.warn("testing.crash_after_commit: generation " + std::to_string(c.state.generation + 1) +
              " is committed; killing rank 0");
    std::raise(SIGKILL);
  }
}

std::string H5RunStore::best_ever_file() const {
  const std::string path = best_ever_file_path(out_);
  return std::filesystem::exists(path) ? path : "";
}

std::string H5RunStore::describe(std::int64_t generation) const { return index_file_path(out_, generation); }

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
  if (r.has_best_ever_report) {
    const BestEverReport& be = r.best_ever_report;
    nlohmann::json& b = j["best_ever"];
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
  if (r.has_soup_report) {
    const SoupReport& sr = r.soup_report;
    nlohmann::json& so = j["soup"];
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
  }
  nlohmann::json workers = nlohmann::json::array();
  for (const auto& w : worker_totals(workers_ ? workers_->path() : out_ + "/workers.jsonl")) {
    const double total = w.busy_seconds + w.wait_seconds;
    workers.push_back({{"rank", w.rank},
                       {"busy_seconds", w.busy_seconds},
                       {"wait_seconds", w.wait_seconds},
                       {"busy_share", total > 0.0 ? w.busy_seconds / total : 0.0}});
  }
  j["workers"] = workers;  // training-phase utilisation over the run's generations (workers.jsonl)
  j["checkpoint"] = in_run(r.checkpoint);
  j["algorithm"] = to_string(cfg_.algorithm);
  j["seed"] = cfg_.seed;
  if (!r.pareto_front.empty()) {
    // The final population's first non-dominated front (selection.objectives; docs/outputs.md).
    nlohmann::json front = nlohmann::json::array();
    for (const auto& m : r.pareto_front) {
      nlohmann::json e = {{"member", m.member},
                          {"fitness", number_or_null(m.fitness)},
                          {"file", in_run(member_file_path(out_, r.front_generation, m.member))}};
      if (cfg_.selection.needs(Objective::Parameters)) e["parameters"] = m.parameters;
      if (cfg_.selection.needs(Objective::LatencyMs)) e["latency_ms"] = m.latency_ms;
      front.push_back(e);
    }
    j["pareto_front"] = {{"objectives", r.objectives}, {"members", front}};
  }
  write_text_file_atomic(out_ + "/summary.json", j.dump(2) + "\n");
}

}  // namespace pbtnas::io
