#include "pbtnas/run/coordinator.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "pbtnas/io/checkpoint_h5.hpp"
#include "pbtnas/io/metrics_log.hpp"
#include "pbtnas/io/run_dir.hpp"
#include "pbtnas/layout.hpp"
#include "pbtnas/messages.hpp"
#include "pbtnas/population.hpp"
#include "pbtnas/selection.hpp"

namespace pbtnas {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

class Run {
 public:
  Run(Transport& t, const RunConfig& cfg, const SearchSpace& space, std::string out, Logger& log,
      const std::atomic<int>* stop)
      : t_(t), cfg_(cfg), space_(space), out_(std::move(out)), log_(log),
        layout_(cfg.selection.population_size, t.size()), stop_(stop) {}

  int run();

 private:
  std::int64_t resume_point();  // -1: fresh run
  void broadcast(int tag, const std::string& bytes) {
    for (int r = 1; r < t_.size(); ++r) t_.send(r, tag, bytes);
  }
  bool start(std::int64_t resume);
  void generation(std::int64_t g, io::MetricsLog& metrics);
  void commit(std::int64_t g, const std::vector<io::FileEntry>& files);
  void save_best_ever(std::int64_t g, const ExploitPlan& plan);
  int finish();

  Transport& t_;
  const RunConfig& cfg_;
  const SearchSpace& space_;
  std::string out_;
  Logger& log_;
  Layout layout_;
  Population pop_;
  double best_ever_ = kFitnessDiverged;
  int best_ever_member_ = -1;
  std::int64_t best_ever_gen_ = -1;
  std::int64_t last_committed_ = -1;
  const std::atomic<int>* stop_;
};

std::int64_t Run::resume_point() {
  const auto gens = io::list_generation_dirs(out_);
  for (auto it = gens.rbegin(); it != gens.rend(); ++it) {
    if (!std::filesystem::exists(io::index_file_path(out_, *it))) {
      log_.info("resume: " + io::generation_dir(out_, *it) + " has no index.h5 (the run stopped before committing it); it will be discarded");
      continue;
    }
    try {
      io::verify_generation(out_, *it);
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string(e.what()) + "\nNothing was changed in " + out_ +
                               ". To resume from the previous committed generation instead, move " +
                               io::generation_dir(out_, *it) + " out of the way and run again.");
    }
    return *it;
  }
  return -1;
}

bool Run::start(std::int64_t resume) {
  StartOrder order;
  order.resume_generation = resume;
  order.out_dir = out_;
  broadcast(kTagStart, encode(order));
  bool ok = true;
  std::vector<std::string> devices;
  for (int i = 1; i < t_.size(); ++i) {
    int from = 0;
    const auto ready = decode<WorkerReady>(t_.recv(kAnySource, kTagReady, &from));
    if (!ready.error.empty()) {
      if (ok) log_.warn("worker rank " + std::to_string(from) + " cannot start: " + ready.error);
      ok = false;
    }
    devices.push_back(ready.device + " x " + std::to_string(ready.threads));
  }
  if (ok) log_.info("workers ready: " + std::to_string(t_.size() - 1) + " (first: " + devices.front() + " thread(s))");
  return ok;
}

void Run::generation(std::int64_t g, io::MetricsLog& metrics) {
  const int n = pop_.size();
  const int epoch_begin = static_cast<int>(g) * cfg_.epochs_step;
  const int next_epoch = epoch_begin + cfg_.epochs_step;

  // 1. Train and collect fitness.
  const auto t_train = Clock::now();
  broadcast(kTagOrder, encode(TrainOrder{g, epoch_begin, cfg_.epochs_step, false, -1, 0, ""}));
  std::vector<FitnessReport> reports(n);
  for (int i = 0; i < n; ++i) {
    auto r = decode<FitnessReport>(t_.recv(kAnySource, kTagReport));
    // Fail on the first error: other workers may be blocked on the failed one, so waiting for
    // all replies could hang; main() then aborts the job (committed generations are intact).
    if (!r.error.empty()) throw std::runtime_error("a worker failed while training: " + r.error);
    reports.at(r.member) = r;
  }
  const double train_s = since(t_train);
  std::vector<double> fitness;
  for (const auto& r : reports) fitness.push_back(r.fitness);
  pop_.record_fitness(fitness);
  for (const auto& r : reports) {
    io::MetricsRow row{g, next_epoch, r.member, r.fitness, r.train_loss, r.samples, r.train_seconds, r.diverged, ""};
    for (const auto& o : space_.option_names(pop_.members()[r.member].genome)) row.architecture += (row.architecture.empty() ? "" : " ") + o;
    metrics.append(row);
    if (r.diverged) log_.info("  member " + std::to_string(r.member) + " diverged (non-finite loss): fitness -inf, it will be replaced");
  }
  const auto ranked = rank_by_fitness(pop_.last_fitness());
  if (fitness[ranked[0]] > best_ever_) {
    best_ever_ = fitness[ranked[0]];
    best_ever_member_ = ranked[0];
    best_ever_gen_ = g;
  }
  std::vector<double> sorted = pop_.last_fitness();
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];

  // 2. Exploit.
  const auto t_exploit = Clock::now();
  const ExploitPlan plan = cfg_.mix_after(next_epoch) ? pop_.plan(cfg_, space_, g) : ExploitPlan{g, {}};
  broadcast(kTagPlan, encode(plan));
  std::uint64_t bytes = 0;
  for (int i = 1; i < t_.size(); ++i) {
    const auto d = decode<ExploitDone>(t_.recv(kAnySource, kTagExploitDone));
    if (!d.error.empty()) throw std::runtime_error("a worker failed in the exploit step: " + d.error);
    bytes += d.bytes_sent;
  }
  pop_.apply(plan);
  const double exploit_s = since(t_exploit);

  // 3. Checkpoint: member files first, then the index commits the generation.
  const auto t_ckpt = Clock::now();
  CheckpointOrder order;
  order.generation = g;
  order.out_dir = out_;
  for (const auto& m : pop_.members()) order.fitness.push_back(m.fitness);
  broadcast(kTagCheckpoint, encode(order));
  std::vector<io::FileEntry> files;
  for (int i = 1; i < t_.size(); ++i) {
    const auto d = decode<CheckpointDone>(t_.recv(kAnySource, kTagCheckpointDone));
    if (!d.error.empty()) throw std::runtime_error("a worker failed to write its checkpoint: " + d.error);
    for (const auto& f : d.files) files.push_back({f.member, f.file, f.bytes, f.crc32});
  }
  if (best_ever_gen_ == g) save_best_ever(g, plan);
  commit(g, files);
  const double ckpt_s = since(t_ckpt);
  if (cfg_.crash_after_commit == g) {
    // Testing hook: an exact crash point (rank 0 dies, the job with it) for resume tests.
    log_.warn("testing.crash_after_commit: generation " + std::to_string(g + 1) + " is committed; killing rank 0");
    std::raise(SIGKILL);
  }

  std::ostringstream line;
  line << "gen " << g + 1 << "/" << cfg_.n_steps() << "  epoch " << next_epoch << "  best " << fmt("%.4f", fitness[ranked[0]])
       << " (member " << ranked[0] << ")  median " << fmt("%.4f", median) << "  | train " << fmt("%.1f", train_s) << "s exploit "
       << fmt("%.2f", exploit_s) << "s ckpt " << fmt("%.2f", ckpt_s) << "s";
  if (!plan.empty()) line << "  | " << fmt("%.1f", bytes / 1048576.0) << " MiB sent";
  log_.info(line.str());
  for (const auto& c : plan.children) {
    std::ostringstream l;
    l << "    " << c.slot << " <- " << c.parent1;
    if (c.kind == ChildKind::Mix) l << " + " << c.parent2 << " (" << (c.parent1 == c.parent2 ? "self-" : "") << "mix";
    else l << " (" << to_string(c.kind);
    if (!c.swapped_genes.empty()) {
      l << "; genes";
      for (int gi : c.swapped_genes) l << ' ' << space_.gene(gi).name;
    }
    l << ")";
    log_.info(l.str());
  }
}

void Run::commit(std::int64_t g, const std::vector<io::FileEntry>& files) {
  io::GenerationIndex idx;
  idx.generation = g;
  idx.next_epoch = static_cast<int>(g + 1) * cfg_.epochs_step;
  idx.seed = cfg_.seed;
  idx.algorithm = to_string(cfg_.algorithm);
  idx.config_yaml = cfg_.source_text;
  idx.space_name = space_.name();
  for (const auto& gene : space_.genes()) {
    idx.gene_names.push_back(gene.name);
    idx.gene_options.push_back(gene.options);
  }
  idx.members = pop_.members();
  idx.history = pop_.history();
  idx.files = files;
  std::sort(idx.files.begin(), idx.files.end(), [](const auto& a, const auto& b) { return a.member < b.member; });
  idx.best_ever_fitness = best_ever_;
  idx.best_ever_member = best_ever_member_;
  idx.best_ever_generation = best_ever_gen_;
  io::commit_generation(out_, idx, cfg_.checkpoint.keep);
  last_committed_ = g;
}

// The best-ever member survives the exploit step of its generation (it ranks first, children
// replace the bottom), so its member file of generation g holds exactly the scored weights.
void Run::save_best_ever(std::int64_t g, const ExploitPlan& plan) {
  for (const auto& c : plan.children)
    if (c.slot == best_ever_member_) {
      log_.warn("the best-ever member " + std::to_string(best_ever_member_) + " was replaced in the exploit step of generation " +
                std::to_string(g + 1) + "; " + io::best_ever_file_path(out_) + " keeps the previous best");
      return;
    }
  io::copy_file_atomic(io::member_file_path(out_, g, best_ever_member_), io::best_ever_file_path(out_));
}

int Run::finish() {
  const auto ranked = rank_by_fitness(pop_.last_fitness());
  const int best = ranked[0];
  TrainOrder stop{0, 0, 0, true, best, 0, ""};
  if (best_ever_member_ >= 0 && std::filesystem::exists(io::best_ever_file_path(out_)))
    stop.best_ever_file = io::best_ever_file_path(out_);
  broadcast(kTagOrder, encode(stop));
  const auto r = decode<FinalReport>(t_.recv(layout_.owner(best), kTagFinalReport));
  FinalReport be;
  if (!stop.best_ever_file.empty()) {
    log_.info("final evaluation of the best-ever member (" + stop.best_ever_file + ") ...");
    be = decode<FinalReport>(t_.recv(1, kTagFinalReport));
  }
  if (!r.error.empty()) throw std::runtime_error("final evaluation of member " + std::to_string(best) + " failed: " + r.error);
  const auto& m = pop_.members()[best];
  const std::string ckpt = io::index_file_path(out_, last_committed_);
  log_.info("done: best member " + std::to_string(best) + "  validation " + fmt("%.4f", r.fitness) + "  test " +
            fmt("%.4f", r.test_score) + "  parameters " + std::to_string(r.parameters));
  log_.info("  architecture: " + space_.describe(m.genome));
  log_.info("  checkpoint:   " + ckpt + "   (pbtnas inspect " + ckpt + ")");
  nlohmann::json j;
  j["best_member"] = best;
  j["validation"] = r.fitness;
  j["test"] = r.test_score;
  j["parameters"] = r.parameters;
  j["architecture"] = space_.option_names(m.genome);
  j["genome"] = m.genome;
  j["fitness_history"] = m.fitness;
  j["best_ever"] = {{"fitness", best_ever_}, {"member", best_ever_member_}, {"generation", best_ever_gen_}};
  int code = 0;
  if (!stop.best_ever_file.empty()) {
    nlohmann::json& b = j["best_ever"];
    b["file"] = stop.best_ever_file;
    if (!be.error.empty()) {
      b["error"] = be.error;
      log_.warn("final evaluation of " + stop.best_ever_file + " failed: " + be.error);
      code = kExitError;
    } else {
      std::string line = "best ever: member " + std::to_string(be.member) + " of generation " + std::to_string(be.generation + 1) +
                         " (fitness " + fmt("%.4f", best_ever_) + ")";
      nlohmann::json metrics = nlohmann::json::object();
      for (std::size_t i = 0; i < be.metric_names.size(); ++i) {
        const double v = be.metric_values[i];
        metrics[be.metric_names[i]] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
        line += "  " + be.metric_names[i] + " " + fmt("%.6g", v);
      }
      b["evaluation"] = metrics;
      b["parameters"] = be.parameters;
      if (!be.preview.empty()) {
        b["samples"] = be.preview;
        line += "  samples " + be.preview;
      }
      log_.info(line);
    }
  }
  j["checkpoint"] = ckpt;
  j["algorithm"] = to_string(cfg_.algorithm);
  j["seed"] = cfg_.seed;
  std::ofstream(out_ + "/summary.json") << j.dump(2) << '\n';
  return code;
}

int Run::run() {
  std::filesystem::create_directories(out_);
  std::int64_t resume = -1;
  try {
    resume = resume_point();
    if (resume >= 0) {
      const auto idx = io::read_index(io::index_file_path(out_, resume));
      if (idx.config_yaml != cfg_.source_text)
        throw std::runtime_error(out_ + " holds a run made with another config (see pbtnas inspect " +
                                 io::index_file_path(out_, resume) + "); use a new --out, or the same config to resume it");
      pop_ = Population(idx.members, idx.history);
      best_ever_ = idx.best_ever_fitness;
      best_ever_member_ = idx.best_ever_member;
      best_ever_gen_ = idx.best_ever_generation;
      last_committed_ = resume;
      log_.info("resuming from committed generation " + std::to_string(resume + 1) + "/" + std::to_string(cfg_.n_steps()) +
                " in " + io::generation_dir(out_, resume));
    } else {
      pop_ = Population(space_, cfg_.selection.population_size, cfg_.seed);
    }
  } catch (const std::exception& e) {
    // Nothing has started: tell every worker to exit, and exit cleanly with the message.
    StartOrder stop;
    stop.stop = true;
    broadcast(kTagStart, encode(stop));
    log_.warn(std::string("error: ") + e.what());
    return kExitError;
  }
  io::discard_uncommitted(out_, resume);
  if (!start(resume)) {
    broadcast(kTagOrder, encode(TrainOrder{0, 0, 0, true, -1, 0, ""}));
    return 2;
  }
  io::MetricsLog metrics(out_ + "/metrics.jsonl", resume);
  if (resume < 0)
    log_.info("search: algorithm " + std::string(to_string(cfg_.algorithm)) + ", population " + std::to_string(pop_.size()) + ", " +
              std::to_string(cfg_.n_steps()) + " steps of " + std::to_string(cfg_.epochs_step) + " epoch(s), search space '" +
              space_.name() + "' (" + std::to_string(space_.size()) + " genes, 10^" + fmt("%.1f", space_.log10_cardinality()) +
              " architectures), " + std::to_string(t_.size() - 1) + " workers, output " + out_);
  for (std::int64_t g = resume + 1; g < cfg_.n_steps(); ++g) {
    generation(g, metrics);
    const bool stop_hook = cfg_.stop_after_generation == g;  // testing hook: as SIGUSR1 during g
    if ((stop_hook || (stop_ && stop_->load() > 0)) && g + 1 < cfg_.n_steps()) {
      log_.info("stop requested: generation " + std::to_string(g + 1) + "/" + std::to_string(cfg_.n_steps()) +
                " is committed; exiting with code " + std::to_string(kExitCheckpointed) +
                " (run the same command again, or requeue the job, to resume)");
      TrainOrder stop{0, 0, 0, true, -1, 0, ""};
      stop.exit_code = kExitCheckpointed;
      broadcast(kTagOrder, encode(stop));
      return kExitCheckpointed;
    }
  }
  return finish();
}

}  // namespace

int run_coordinator(Transport& transport, const RunConfig& cfg, const SearchSpace& space, const std::string& out_dir,
                    Logger& log, const std::atomic<int>* stop_requested) {
  Run run(transport, cfg, space, out_dir, log, stop_requested);
  return run.run();
}

}  // namespace pbtnas
