#include "pbtnas/protocol/coordinator.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "pbtnas/core/layout.hpp"
#include "pbtnas/core/messages.hpp"
#include "pbtnas/core/population.hpp"
#include "pbtnas/core/resources.hpp"
#include "pbtnas/core/selection.hpp"
#include "pbtnas/protocol/training_progress.hpp"
#include "pbtnas/protocol/worker_watch.hpp"
#include "pbtnas/util/clock.hpp"

namespace pbtnas {
namespace {

class Coordinator {
 public:
  Coordinator(Transport& t, const RunConfig& cfg, const SearchSpace& space, RunStore& store, RunReport& report,
              const std::atomic<int>* stop, RunPoints* points)
      : t_(t), cfg_(cfg), space_(space), store_(store), report_(report),
        layout_(cfg.selection.population_size, t.size()), stop_(stop), points_(points) {}

  int run() {
    if (!start()) return start_exit_;
    for (std::int64_t g = last_committed_ + 1; g < cfg_.n_steps(); ++g) {
      const auto t0 = Clock::now();
      GenerationSummary s = train(g);
      rank(s);
      report_.scored(s);
      exploit(s);
      checkpoint(s);
      report_.generation(s);
      if (points_) points_->at(RunPoint::AfterCommit, g);
      seconds_run_ += since(t0);
      longest_generation_ = std::max(longest_generation_, since(t0));
      ++generations_run_;
      if (stop_requested(g) && g + 1 < cfg_.n_steps()) return stop_after(g);
    }
    return finish();
  }

 private:
  bool start();
  bool already_finished();
  GenerationSummary train(std::int64_t g);
  void rank(GenerationSummary& s);
  void exploit(GenerationSummary& s);
  void checkpoint(GenerationSummary& s);
  int stop_after(std::int64_t g);
  int finish();
  std::vector<int> next_owners(const GenerationSummary& s) const;

  int start_exit_ = kExitError;  // run()'s exit code when start() returns false

  bool stop_requested(std::int64_t g) const {
    return cfg_.stop_after_generation == g || (stop_ && stop_->load() > 0);
  }
  template <class M>
  std::vector<M> from_each_worker(std::int64_t g, const char* step) {
    std::vector<M> out;
    WorkerWatch watch = watch_workers(g, step);
    for (int r = 1; r < t_.size(); ++r) watch.owes(r, 1);
    for (int i = 1; i < t_.size(); ++i) {
      int from = 0;
      M m = watch.receive<M>(&from);
      watch.paid(from);
      // Fail on the first error: other workers may be blocked on the failed one.
      if (!m.error.empty()) throw std::runtime_error(std::string("a worker failed ") + step + ": " + m.error);
      out.push_back(std::move(m));
    }
    return out;
  }

  // A wait for the workers in one step of generation g (protocol/worker_watch.hpp).
  WorkerWatch watch_workers(std::int64_t g, const char* step) const {
    const double limit = cfg_.worker_timeout_seconds(longest_generation_);
    return WorkerWatch(t_, limit, [this, limit, g, step](const std::vector<int>& silent) {
      return silence_message(silent, limit, g, step);
    });
  }
  std::string silence_message(const std::vector<int>& ranks, double limit, std::int64_t g, const char* step) const;

  Transport& t_;
  const RunConfig& cfg_;
  const SearchSpace& space_;
  RunStore& store_;
  RunReport& report_;
  Layout layout_;
  Population pop_;
  BestEver best_ever_;
  BestEver previous_best_ever_;  // before this generation's ranking
  std::int64_t last_committed_ = -1;
  const std::atomic<int>* stop_;
  RunPoints* points_;
  double seconds_run_ = 0.0;  // wall time of the generations this process ran (for the ETA)
  double longest_generation_ = 0.0;  // seconds, for the derived worker timeout
  int generations_run_ = 0;
  std::vector<ReadyWorker> workers_;  // as they reported ready (hosts for messages)
};

std::string Coordinator::silence_message(const std::vector<int>& ranks, double limit, std::int64_t g,
                                         const char* step) const {
  std::string who;
  for (int r : ranks) {
    std::string host = "?";
    for (const auto& w : workers_)
      if (w.rank == r) host = w.host;
    std::string members;
    for (int m : layout_.members_of(r)) members += (members.empty() ? "" : ", ") + std::to_string(m);
    who += std::string(who.empty() ? "" : "; ") + "rank " + std::to_string(r) + " on host " + host + " (members " +
           members + ")";
  }
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.0f", limit);
  return std::string(ranks.size() == 1 ? "a worker stopped answering: " : "workers stopped answering: ") + who +
         " sent nothing for " + seconds + " s in generation " + std::to_string(g) + " (" + step +
         "; runtime.worker_timeout). Nothing of generation " + std::to_string(g) + " is committed; " +
         (last_committed_ >= 0 ? "the last committed generation is " + std::to_string(last_committed_)
                               : std::string("no generation is committed yet")) +
         ". Ending the job with exit code " + std::to_string(kExitWorkerLost) +
         "; run the same command to resume (the sbatch templates requeue this exit code)";
}

// A run whose newest committed generation is its last and whose final evaluation was written is
// finished: it is not evaluated again (docs/config.md, "Resuming").
bool Coordinator::already_finished() {
  if (last_committed_ + 1 < cfg_.n_steps() || !store_.finished()) return false;
  broadcast_to_workers(t_, StartOrder::abort(0));
  report_.info("the run in " + store_.location() + " is finished: its last generation " +
               std::to_string(last_committed_) + " [" + std::to_string(last_committed_ + 1) + "/" +
               std::to_string(cfg_.n_steps()) + "] is committed and its final evaluation written (summary.json); "
               "nothing to do. To train it further, raise max_epochs; to evaluate it again, delete summary.json");
  start_exit_ = 0;
  return true;
}

bool Coordinator::start() {
  StartOrder order;
  try {
    if (auto state = store_.resume()) {
      pop_ = Population(state->members, state->history);
      best_ever_ = state->best_ever;
      last_committed_ = state->generation;
      if (already_finished()) return false;
      order = StartOrder::resume(store_.location(), last_committed_);
    } else {
      pop_ = Population(space_, cfg_.selection.population_size, cfg_.seed);
      std::vector<Genome> genomes;
      for (const auto& m : pop_.members()) genomes.push_back(m.genome);
      order = StartOrder::fresh(store_.location(), std::move(genomes));
    }
    store_.discard_after(last_committed_);
  } catch (const std::exception& e) {
    // Nothing has started: tell every worker to exit, and return with the message.
    broadcast_to_workers(t_, StartOrder::abort());
    report_.warn(std::string("error: ") + e.what());
    return false;
  }
  broadcast_to_workers(t_, order);
  bool ok = true;
  std::vector<ReadyWorker> workers;
  for (int i = 1; i < t_.size(); ++i) {
    int from = 0;
    const auto ready = receive_message<WorkerReady>(t_, kAnySource, &from);
    if (!ready.error.empty()) {
      if (ok)
        report_.warn("worker rank " + std::to_string(from) + " cannot start: " + ready.error +
                     (ready.host.empty() ? "" : " (on host " + ready.host + ")"));
      ok = false;
      continue;
    }
    workers.push_back({from, ready.host, ready.device, ready.threads});
  }
  workers_ = workers;
  if (ok)
    report_.info("workers ready: " + describe_ready_workers(workers) +
                 (cfg_.threads_per_rank == 0 ? "; threads from runtime.threads_per_rank 0 (each node's cores / "
                                               "its workers): fix it for CPU results that do not change with "
                                               "the rank count or the nodes"
                                             : ""));
  if (!ok) {
    broadcast_to_workers(t_, Order::stop(kExitError));
    return false;
  }
  report_.started({last_committed_, pop_.size(), t_.size() - 1, cfg_.n_steps(), store_.location()});
  if (points_) points_->started(last_committed_);
  return true;
}

GenerationSummary Coordinator::train(std::int64_t g) {
  GenerationSummary s;
  s.generation = g;
  s.steps = cfg_.n_steps();
  const int epoch_begin = static_cast<int>(g) * cfg_.epochs_step;
  s.next_epoch = epoch_begin + cfg_.epochs_step;
  const auto t0 = Clock::now();
  broadcast_to_workers(t_, Order::train(g, epoch_begin, cfg_.epochs_step));
  if (points_) points_->at(RunPoint::DuringTraining, g);
  s.reports.resize(static_cast<std::size_t>(pop_.size()));
  // Results arrive per member; before a member's result, its worker's progress notes (partial
  // reports), from which the live progress is shown.
  TrainingTracker tracker(g, s.steps, pop_.size(), generations_run_ > 0 ? seconds_run_ / generations_run_ : 0.0);
  auto shown = t0;
  WorkerWatch watch = watch_workers(g, "while training");
  for (int r = 1; r < t_.size(); ++r) watch.owes(r, static_cast<int>(layout_.members_of(r).size()));
  for (int i = 0; i < pop_.size();) {
    int from = 0;
    FitnessReport r = watch.receive<FitnessReport>(&from);
    if (!r.error.empty()) throw std::runtime_error("a worker failed while training: " + r.error);
    tracker.add(r);
    if (!r.partial) {
      s.reports.at(static_cast<std::size_t>(r.member)) = r;
      watch.paid(from);
      ++i;
    }
    const bool due = cfg_.progress_every_result ? !r.partial : since(shown) >= cfg_.progress_seconds;
    if (cfg_.progress_seconds > 0.0 && i < pop_.size() && due) {
      report_.progress(tracker.snapshot(since(t0)));
      shown = Clock::now();
    }
  }
  s.train_seconds = since(t0);
  for (const auto& m : pop_.members()) s.genomes.push_back(m.genome);
  const int workers = t_.size() - 1;
  s.worker_busy_seconds.assign(static_cast<std::size_t>(workers), 0.0);
  for (const auto& r : s.reports) s.worker_busy_seconds[static_cast<std::size_t>(layout_.owner(r.member) - 1)] += r.train_seconds;
  s.worker_hosts.assign(static_cast<std::size_t>(workers), "?");
  for (const auto& w : workers_)
    if (w.rank >= 1 && w.rank <= workers) s.worker_hosts[static_cast<std::size_t>(w.rank - 1)] = w.host;
  for (double busy : s.worker_busy_seconds) {
    s.worker_wait_seconds.push_back(std::max(0.0, s.train_seconds - busy));
    if (s.train_seconds > 0.0) s.busy_share += std::min(1.0, busy / s.train_seconds) / workers;
  }
  return s;
}

void Coordinator::rank(GenerationSummary& s) {
  std::vector<double> fitness;
  for (const auto& r : s.reports) fitness.push_back(r.fitness);
  pop_.record_fitness(fitness);
  if (cfg_.selection.multi_objective()) {
    std::vector<MemberCosts> costs;
    for (const auto& r : s.reports) costs.push_back({static_cast<double>(r.parameters), r.latency_ms});
    pop_.record_costs(costs);
  }
  const auto ranked = rank_by_fitness(pop_.last_fitness());
  s.best_member = ranked[0];
  s.best_fitness = fitness[static_cast<std::size_t>(ranked[0])];
  std::vector<double> sorted = pop_.last_fitness();
  std::sort(sorted.begin(), sorted.end());
  s.median_fitness = sorted[sorted.size() / 2];
  previous_best_ever_ = best_ever_;
  if (s.best_fitness > best_ever_.fitness) best_ever_ = {s.best_fitness, s.best_member, s.generation};
}

void Coordinator::exploit(GenerationSummary& s) {
  const auto t0 = Clock::now();
  s.plan = cfg_.mix_after(s.next_epoch) ? pop_.plan(cfg_, space_, s.generation) : ExploitPlan{s.generation, {}, {}};
  if (cfg_.balance == "measured" && s.generation + 1 < cfg_.n_steps()) s.plan.owners = next_owners(s);
  s.plan_seconds = since(t0);
  broadcast_to_workers(t_, s.plan);
  for (const auto& d : from_each_worker<ExploitDone>(s.generation, "in the exploit step")) s.bytes_sent += d.bytes_sent;
  pop_.apply(s.plan);
  if (!s.plan.owners.empty()) {
    const Layout next(pop_.size(), t_.size(), s.plan.owners);
    s.members_moved = static_cast<int>(layout_moves(layout_, next).size());
    layout_ = next;
  }
  s.exploit_seconds = since(t0);
}

// The next generation's placement: each member's cost is its training seconds in this generation
// (a child: its parent1's); the longest-processing-time placement is taken when it lowers the
// busiest worker's cost by more than 5 % (else the members stay, and nothing moves).
std::vector<int> Coordinator::next_owners(const GenerationSummary& s) const {
  std::vector<double> cost;
  for (const auto& r : s.reports) cost.push_back(cfg_.balance_cost_by_id ? r.member + 1.0 : r.train_seconds);
  std::vector<double> next = cost;
  for (const auto& c : s.plan.children) next.at(static_cast<std::size_t>(c.slot)) = cost.at(static_cast<std::size_t>(c.parent1));
  const int workers = t_.size() - 1;
  std::vector<int> owners = balanced_owners(next, workers);
  if (max_worker_cost(next, owners, workers) < 0.95 * max_worker_cost(next, layout_.owners(), workers)) return owners;
  return {};
}

// Member files first, then the store commits the generation.
void Coordinator::checkpoint(GenerationSummary& s) {
  const auto t0 = Clock::now();
  CheckpointOrder order;
  order.generation = s.generation;
  for (const auto& m : pop_.members()) order.fitness.push_back(m.fitness);
  broadcast_to_workers(t_, order);
  GenerationCommit c;
  s.worker_peak_rss_bytes.assign(static_cast<std::size_t>(t_.size() - 1), 0);
  s.worker_pss_bytes.assign(static_cast<std::size_t>(t_.size() - 1), 0);
  WorkerWatch watch = watch_workers(s.generation, "while writing checkpoints");
  for (int r = 1; r < t_.size(); ++r) watch.owes(r, 1);
  for (int i = 1; i < t_.size(); ++i) {
    int from = 0;
    auto d = watch.receive<CheckpointDone>(&from);
    watch.paid(from);
    if (!d.error.empty()) throw std::runtime_error("a worker failed to write its checkpoint: " + d.error);
    c.files.insert(c.files.end(), d.files.begin(), d.files.end());
    s.worker_peak_rss_bytes.at(static_cast<std::size_t>(from - 1)) = d.peak_rss_bytes;
    s.worker_pss_bytes.at(static_cast<std::size_t>(from - 1)) = d.pss_bytes;
    s.checkpoint_write_seconds = std::max(s.checkpoint_write_seconds, d.seconds);
  }
  std::sort(c.files.begin(), c.files.end(), [](const FileInfo& a, const FileInfo& b) { return a.member < b.member; });
  // The best-ever member survives the exploit of its generation (it ranks first; children
  // replace the bottom), so its member file of generation g holds exactly the scored weights.
  const bool new_best_ever = best_ever_.generation == s.generation;
  if (new_best_ever) {
    bool replaced = false;
    for (const auto& child : s.plan.children) replaced = replaced || child.slot == best_ever_.member;
    if (replaced) {
      report_.warn("the best-ever member " + std::to_string(best_ever_.member) +
                   " was replaced in the exploit step of its generation; the previous best-ever member is kept");
      best_ever_ = previous_best_ever_;  // the index names the member whose weights were kept
    }
  }
  c.state = {s.generation, pop_.members(), pop_.history(), best_ever_};
  c.next_epoch = s.next_epoch;
  store_.commit(c);
  // After the commit: a process killed before the copy leaves best_ever.h5 older than the index
  // says, and the resume copies it again (RunStore::resume).
  if (new_best_ever && best_ever_.generation == s.generation) store_.keep_best_ever(s.generation, best_ever_.member);
  last_committed_ = s.generation;
  s.checkpoint_seconds = since(t0);
  s.coordinator_peak_rss_bytes = peak_resident_bytes();
}

int Coordinator::stop_after(std::int64_t g) {
  // Numbered like every other line: "generation 19 [20/40]" (0-based, then the step of the run).
  report_.info("stop requested: generation " + std::to_string(g) + " [" + std::to_string(g + 1) + "/" +
               std::to_string(cfg_.n_steps()) + "] is committed; exiting with code " +
               std::to_string(kExitCheckpointed) +
               ". To resume, run the same command again (the SLURM templates requeue the job)");
  broadcast_to_workers(t_, Order::stop(kExitCheckpointed));
  return kExitCheckpointed;
}

int Coordinator::finish() {
  RunResult result;
  result.best_member = rank_by_fitness(pop_.last_fitness())[0];
  const auto& m = pop_.members()[static_cast<std::size_t>(result.best_member)];
  result.genome = m.genome;
  result.fitness_history = m.fitness;
  result.best_ever = best_ever_;
  result.best_ever_file = best_ever_.member >= 0 ? store_.best_ever_file() : "";
  result.checkpoint = store_.describe(last_committed_);
  if (cfg_.selection.multi_objective()) {
    for (Objective o : cfg_.selection.objectives) result.objectives.push_back(to_string(o));
    result.front_generation = last_committed_;
    for (int id : pop_.pareto_front(cfg_.selection)) {
      const auto& c = pop_.costs()[static_cast<std::size_t>(id)];
      result.pareto_front.push_back({id, pop_.members()[static_cast<std::size_t>(id)].last_fitness(),
                                     static_cast<std::int64_t>(c.parameters), c.latency_ms});
    }
  }
  broadcast_to_workers(t_, Order::finish());
  broadcast_to_workers(t_, FinalOrder{result.best_member, result.best_ever_file, last_committed_});
  result.final_report = receive_message<FinalReport>(t_, layout_.owner(result.best_member));
  if (!result.best_ever_file.empty()) {
    report_.info("final evaluation of the best-ever member (" + result.best_ever_file + ") ...");
    result.best_ever_report = receive_message<BestEverReport>(t_, 1);
    result.has_best_ever_report = true;
  }
  if (cfg_.final_soup) {
    report_.info("final evaluation: greedy soup of generation " + std::to_string(last_committed_) + " ...");
    result.soup_report = receive_message<SoupReport>(t_, 1);
    result.has_soup_report = true;
  }
  if (!result.final_report.error.empty())
    throw std::runtime_error("final evaluation of member " + std::to_string(result.best_member) +
                             " failed: " + result.final_report.error);
  report_.finished(result);
  const bool failed = (result.has_best_ever_report && !result.best_ever_report.error.empty()) ||
                      (result.has_soup_report && !result.soup_report.error.empty());
  return failed ? kExitError : kExitOk;
}

}  // namespace

int run_coordinator(Transport& transport, const RunConfig& cfg, const SearchSpace& space, RunStore& store,
                    RunReport& report, const std::atomic<int>* stop_requested, RunPoints* points) {
  return Coordinator(transport, cfg, space, store, report, stop_requested, points).run();
}

}  // namespace pbtnas
