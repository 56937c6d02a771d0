#include "pbtnas/run/worker.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <thread>

#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/io/member_file.hpp"
#include "pbtnas/io/member_shard.hpp"
#include "pbtnas/index/run_dir.hpp"
#include "pbtnas/core/messages.hpp"
#include "pbtnas/core/population.hpp"
#include "pbtnas/core/resources.hpp"
#include "pbtnas/run/build_child.hpp"
#include "pbtnas/run/exchange.hpp"
#include "pbtnas/run/final_soup.hpp"
#include "pbtnas/run/member_costs.hpp"
#include "pbtnas/run/shared_exchange.hpp"
#include "pbtnas/run/shared_node.hpp"
#include "pbtnas/tasks/progress.hpp"
#include "pbtnas/util/clock.hpp"

namespace pbtnas {
namespace {

// Progress notes of one member's training call (messages.hpp, FitnessReport::partial): the first
// after `interval` (> 0) seconds, then at most one per interval. Installed only when progress
// notes are on (runtime.progress_seconds > 0).
class ProgressNotes final : public TrainProgressSink {
 public:
  ProgressNotes(Transport& t, int member, std::int64_t generation, double interval)
      : t_(t), member_(member), generation_(generation), interval_(std::chrono::duration<double>(interval)),
        next_(Clock::now() + std::chrono::duration_cast<Clock::duration>(interval_)) {}
  void progress(std::int64_t done, std::int64_t total) override {
    const auto now = Clock::now();
    if (now < next_) return;
    next_ = now + std::chrono::duration_cast<Clock::duration>(interval_);
    FitnessReport note;
    note.member = member_;
    note.generation = generation_;
    note.partial = true;
    note.samples = done;
    note.total_samples = total;
    send_message(t_, 0, note);
  }

 private:
  Transport& t_;
  int member_;
  std::int64_t generation_;
  std::chrono::duration<double> interval_;
  Clock::time_point next_;
};

// Testing hook (testing.slow_rank): every progress report of the task (one per training step)
// first waits `seconds`, then goes on to the progress notes, if any: a slow worker that keeps
// reporting, as on a slower node.
class SlowSteps final : public TrainProgressSink {
 public:
  SlowSteps(TrainProgressSink* next, double seconds) : next_(next), seconds_(seconds) {}
  void progress(std::int64_t done, std::int64_t total) override {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds_));
    if (next_) next_->progress(done, total);
  }

 private:
  TrainProgressSink* next_;
  double seconds_;
};
}  // namespace

Worker::Worker(Transport& transport, const RunConfig& cfg, const Task* task, std::string task_error,
               torch::Device device, int threads, Logger& log, RunPoints* points)
    : transport_(transport),
      cfg_(cfg),
      task_(task),
      task_error_(std::move(task_error)),
      device_(device),
      threads_(threads),
      log_(log),
      points_(points),
      layout_(cfg.selection.population_size, transport.size()) {}

bool Worker::start() {
  const auto order = receive_message<StartOrder>(transport_, 0);
  if (order.stop) {
    stop_exit_code_ = order.exit_code;
    return false;
  }
  started_ = true;
  out_dir_ = order.out_dir;
  WorkerReady ready;
  ready.device = device_.str();
  ready.threads = threads_;
  ready.error = task_error_;
  char host[256] = {};
  ready.host = ::gethostname(host, sizeof host - 1) == 0 ? host : "?";
  std::unique_ptr<SharedState> shared;
  if (ready.error.empty()) try {
      shared = task_->make_shared_state();
    } catch (const std::exception& e) {
      ready.error = e.what();
    }
  // The shared state's copies (one per node, or per rank), loaded from the checkpoint on resume.
  // Every worker takes part, also one that failed, so that none waits for it (shared_node.hpp).
  std::string placement_error;
  placement_ = place_shared_state(transport_, ready.error.empty() ? shared.get() : nullptr, ready.host,
                                  order.out_dir, order.resume_generation, log_, placement_error);
  shared_ = std::move(shared);
  if (ready.error.empty()) ready.error = placement_error;
  if (ready.error.empty()) {
    try {
      const auto mine = layout_.members_of(transport_.rank());
      if (order.resume_generation < 0) {
        if (order.genomes.size() != static_cast<std::size_t>(cfg_.selection.population_size))
          throw std::runtime_error("the start order carries " + std::to_string(order.genomes.size()) +
                                   " genomes for a population of " + std::to_string(cfg_.selection.population_size));
        for (int m : mine)
          members_[m] = task_->create(order.genomes[static_cast<std::size_t>(m)],
                                      derive_seed(cfg_.seed, -1, m, Purpose::FreshInit), device_);
      } else {
        // Wherever the index places them (shards of any rank count, or member files of formats 1-2).
        const auto index = io::read_index(io::index_file_path(order.out_dir, order.resume_generation));
        for (auto& [m, file] : io::read_members(order.out_dir, index, mine)) {
          Member member = task_->create(file.genome, 0, device_);
          import_member_state(member, file.state);
          members_[m] = std::move(member);
        }
      }
    } catch (const std::exception& e) {
      ready.error = e.what();
    }
  }
  send_message(transport_, 0, ready);
  if (points_) points_->started(order.resume_generation);
  return ready.error.empty();
}

void Worker::train(const Order& order) {
  if (cfg_.hang_rank == transport_.rank() && cfg_.hang_generation == order.generation) {
    // Testing hook: this worker stops answering, as a hung process would; only a kill ends it.
    log_.warn("testing.hang_rank: rank " + std::to_string(cfg_.hang_rank) + " hangs in generation " +
              std::to_string(order.generation));
    for (;;) ::pause();
  }
  if (points_) points_->at(RunPoint::DuringTraining, order.generation);
  const bool slow = cfg_.slow_rank == transport_.rank() && cfg_.slow_generation == order.generation;
  if (slow) {
    char extra[32];
    std::snprintf(extra, sizeof extra, "%g", cfg_.slow_step_seconds);
    log_.warn("testing.slow_rank: rank " + std::to_string(cfg_.slow_rank) + " trains slowly in generation " +
              std::to_string(order.generation) + " (+" + extra + " s per training step)");
  }
  for (auto& [id, member] : members_) {
    FitnessReport r;
    r.member = id;
    r.generation = order.generation;
    const auto t0 = Clock::now();
    std::optional<ProgressNotes> notes;
    if (cfg_.progress_seconds > 0.0) notes.emplace(transport_, id, order.generation, cfg_.progress_seconds);
    std::optional<SlowSteps> slowed;
    if (slow) slowed.emplace(notes ? &*notes : nullptr, cfg_.slow_step_seconds);
    TrainProgressScope progress(slowed ? static_cast<TrainProgressSink*>(&*slowed)
                                       : notes ? static_cast<TrainProgressSink*>(&*notes) : nullptr);
    try {
      if (cfg_.nan_member == id && cfg_.nan_generation == order.generation) {
        // Testing aid: poison the weights so that training meets a real non-finite loss.
        torch::NoGradGuard ng;
        for (auto& p : member.model->parameters()) p.fill_(std::numeric_limits<float>::quiet_NaN());
      }
      if (cfg_.shrink_perturb_always.enabled && order.epoch_begin > 0)  // not before the first step
        shrink_perturb_member(*task_, member, derive_seed(cfg_.seed, order.generation, id, Purpose::FreshInit),
                              {cfg_.shrink_perturb_always.shrink, cfg_.shrink_perturb_always.perturb});
      const std::uint64_t seed = derive_seed(cfg_.seed, order.generation, id, Purpose::Train);
      const StepStats s = shared_ ? task_->train_shared(member, order.epoch_begin, order.epochs, seed, *shared_)
                                  : task_->train(member, order.epoch_begin, order.epochs, seed);
      r.train_loss = s.train_loss;
      r.samples = s.samples;
      r.diverged = s.diverged || !std::isfinite(s.train_loss);
      r.fitness = r.diverged ? kFitnessDiverged : task_->fitness(member);
      if (!std::isfinite(r.fitness)) {
        r.diverged = true;
        r.fitness = kFitnessDiverged;
      }
      if (!r.diverged) task_->write_preview(member, io::sample_grid_path(out_dir_, order.generation, id));
      measure_costs(cfg_, *task_, member, r);
    } catch (const std::exception& e) {
      r.error = "member " + std::to_string(id) + ": " + e.what();
    }
    r.train_seconds = since(t0);
    send_message(transport_, 0, r);
  }
}

void Worker::checkpoint(const CheckpointOrder& order) {
  CheckpointDone done;
  const auto t0 = Clock::now();
  try {
    // Written without syncing each file, then synced together (one fsync of the directory instead
    // of one per file), all before the coordinator hears of them and commits the generation.
    std::vector<std::string> paths;
    std::vector<io::MemberFile> files;
    for (auto& [id, member] : members_) {
      io::MemberFile f;
      f.id = id;
      f.generation = order.generation;
      f.genome = member.genome;
      f.genome_options = task_->space().option_names(member.genome);
      f.fitness = order.fitness.at(id);
      f.train_seed = derive_seed(cfg_.seed, order.generation + 1, id, Purpose::Train);
      f.state = export_member_state(member, Snapshot::Borrow);  // written at once
      files.push_back(std::move(f));
    }
    if (!files.empty()) {  // one shard file for all of this worker's members (index format 3)
      const std::string path = io::shard_file_path(out_dir_, order.generation, transport_.rank());
      const io::ShardEntry e = io::write_member_shard(path, order.generation, transport_.rank(), files,
                                                      io::Durability::Deferred);
      FileInfo info{e.file.member, e.file.file, e.file.bytes, e.file.crc32, {}};
      for (const auto& l : e.locations) info.members.push_back(l.member);
      done.files.push_back(std::move(info));
      paths.push_back(path);
      files.clear();
    }
    if (shared_ && transport_.rank() == 1) {  // every worker holds the same state: the first writes it
      io::SharedFile f;
      f.name = shared_->name();
      f.generation = order.generation;
      f.state = shared_->export_state();
      const std::string path = io::shared_file_path(out_dir_, order.generation, f.name);
      const io::FileEntry e = io::write_shared_file(path, f, io::Durability::Deferred);
      done.files.push_back({e.member, e.file, e.bytes, e.crc32, {}});
      paths.push_back(path);
    }
    io::sync_member_files(paths);
  } catch (const std::exception& e) {
    done.error = std::string("checkpoint: ") + e.what();
  }
  done.seconds = since(t0);
  done.peak_rss_bytes = peak_resident_bytes();
  done.pss_bytes = proportional_resident_bytes();
  send_message(transport_, 0, done);
}

void Worker::best_ever_report(const std::string& file) {
  BestEverReport r;
  try {
    if (cfg_.fail_best_ever_evaluation)
      throw std::runtime_error("testing.fail_best_ever_evaluation: the final evaluation of " + file + " fails");
    io::MemberFile f = io::read_member_file(file);
    r.member = f.id;
    r.generation = f.generation;
    Member m = task_->create(f.genome, 0, device_);
    import_member_state(m, f.state);
    r.parameters = count_parameters(*m.model);
    const auto t0 = Clock::now();
    f.evaluation.clear();
    for (const Metric& metric : task_->final_metrics(m)) {
      r.metric_names.push_back(metric.name);
      r.metric_values.push_back(metric.value);
      f.evaluation.emplace_back(metric.name, metric.value);
    }
    f.evaluation.emplace_back("evaluation_seconds", since(t0));
    const std::string preview = io::final_grid_path(out_dir_);
    if (task_->write_preview(m, preview)) r.preview = preview;
    io::write_member_file(file, f);  // atomically, now with the evaluation
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  send_message(transport_, 0, r);
}

void Worker::soup_report(std::int64_t generation) {
  SoupReport r;
  r.generation = generation;
  try {
    const FinalSoup soup = make_final_soup(out_dir_, generation, cfg_, *task_, device_);
    r.best_member = soup.best_member;
    r.candidates = soup.candidates;
    r.members = soup.soup.members;
    r.fitness_name = soup.fitness_name;
    r.best_fitness = soup.best_fitness;
    r.fitness = soup.soup.fitness;
    for (std::size_t i = 0; i < soup.soup_final.size() && i < soup.best_final.size(); ++i) {
      r.metric_names.push_back(soup.soup_final[i].name);
      r.best_values.push_back(soup.best_final[i].value);
      r.soup_values.push_back(soup.soup_final[i].value);
    }
    r.file = soup.file;
    io::write_text_file_atomic(out_dir_ + "/soup.json", soup_json(soup) + "\n");
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  send_message(transport_, 0, r);
}

void Worker::final_report(int id) {
  FinalReport r;
  r.member = id;
  try {
    Member& m = members_.at(id);
    r.fitness = task_->fitness(m);
    r.test_score = task_->test_score(m);
    r.parameters = count_parameters(*m.model);
    for (const Metric& s : task_->final_scores(r.fitness, r.test_score)) {
      r.score_names.push_back(s.name);
      r.score_values.push_back(s.value);
    }
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  send_message(transport_, 0, r);
}

int Worker::run() {
  started_ = false;
  const bool ok = start();
  if (!ok && !started_) return stop_exit_code_;
  for (;;) {
    const auto order = receive_message<Order>(transport_, 0);
    if (order.kind == Order::Kind::Stop) return ok ? order.exit_code : 2;
    if (order.kind == Order::Kind::Finish) {
      const auto last = receive_message<FinalOrder>(transport_, 0);
      if (ok && last.final_member >= 0 && members_.count(last.final_member)) final_report(last.final_member);
      if (ok && !last.best_ever_file.empty() && transport_.rank() == 1) best_ever_report(last.best_ever_file);
      if (ok && cfg_.final_soup && transport_.rank() == 1) soup_report(last.soup_generation);
      return ok ? 0 : 2;
    }
    train(order);
    const auto plan = receive_message<ExploitPlan>(transport_, 0);
    ExploitDone done;
    try {
      if (shared_) {  // the generation's contributions of every member, on every worker, in member order
        const auto x = exchange_shared_state(transport_, members_, *shared_, placement_);
        done.seconds += x.seconds;
        done.bytes_sent += x.bytes_sent;
        if (transport_.rank() == 1) {
          std::string facts;
          for (const auto& [name, value] : shared_->facts()) facts += " " + name + " " + std::to_string(value);
          log_.info("shared " + shared_->name() + " after generation " + std::to_string(order.generation) + ":" +
                    facts + " (" + std::to_string(x.contributions) + " contributions, " +
                    std::to_string(x.bytes_sent) + " bytes sent by rank 1)");
        }
      }
      const auto s = execute_exploit(transport_, layout_, plan, cfg_, *task_, device_, members_);
      done.seconds += s.seconds;
      done.bytes_sent += s.bytes_sent;
      if (!plan.owners.empty()) {  // the next generation's placement (runtime.balance: measured)
        const Layout next(cfg_.selection.population_size, transport_.size(), plan.owners);
        const auto m = move_members(transport_, layout_, next, *task_, device_, members_);
        layout_ = next;
        done.seconds += m.seconds;
        done.bytes_sent += m.bytes_sent;
      }
    } catch (const std::exception& e) {
      done.error = std::string("exploit: ") + e.what();
    }
    send_message(transport_, 0, done);
    checkpoint(receive_message<CheckpointOrder>(transport_, 0));
  }
}

}  // namespace pbtnas
