#pragma once
// What the coordinator tells the user: progress lines, per-member metrics, the final summary.
// Logger + metrics.jsonl + summary.json in production (io/run_log.hpp), memory in tests. Pure.
#include <cstdint>
#include <string>
#include <vector>

#include "pbtnas/core/messages.hpp"
#include "pbtnas/protocol/run_store.hpp"

namespace pbtnas {

struct RunStart {
  std::int64_t resumed_after = -1;  // the committed generation resumed from, -1 for a fresh run
  int population = 0;
  int workers = 0;
  int steps = 0;                    // generations of the whole run
  std::string location;             // RunStore::location()
};

struct GenerationSummary {
  std::int64_t generation = 0;
  int steps = 0;
  int next_epoch = 0;
  std::vector<FitnessReport> reports;  // by member id
  std::vector<Genome> genomes;         // the members' genomes as trained (before the exploit)
  int best_member = 0;
  double best_fitness = 0.0;
  double median_fitness = 0.0;
  ExploitPlan plan;
  double train_seconds = 0.0, exploit_seconds = 0.0, checkpoint_seconds = 0.0;
  double plan_seconds = 0.0;  // rank 0 choosing the exploit plan (part of exploit_seconds)
  // The slowest worker's share of the checkpoint (writing its member files); the rest of
  // checkpoint_seconds is rank 0's commit (index.h5, best_ever.h5, pruning) and the messages.
  double checkpoint_write_seconds = 0.0;
  // Peak resident memory (bytes, 0: unknown): rank 0's, and each worker's (index = rank - 1)
  // as of its checkpoint.
  std::int64_t coordinator_peak_rss_bytes = 0;
  std::vector<std::int64_t> worker_peak_rss_bytes;
  std::vector<std::int64_t> worker_pss_bytes;  // proportional set size (shared pages split)
  // Utilisation in the training phase, per worker (index = rank - 1): seconds spent training
  // its members (their FitnessReport::train_seconds) and seconds it waited for the slowest
  // worker (train_seconds minus busy, at least 0).
  std::vector<double> worker_busy_seconds, worker_wait_seconds;
  std::vector<std::string> worker_hosts;  // each worker's host (index = rank - 1), as it reported ready
  double busy_share = 0.0;  // mean over workers of busy / train_seconds, in [0, 1]
  std::uint64_t bytes_sent = 0;
  int members_moved = 0;  // to another worker for the next generation (runtime.balance: measured)
};

// How far the training of a generation is (run/training_progress.hpp), for the live progress line.
struct TrainingProgress {
  std::int64_t generation = 0;
  int steps = 0;                    // generations of the whole run
  int members = 0;
  int members_done = 0;             // results received
  int running = 0;                  // members with progress notes and no result yet
  std::int64_t samples_done = 0;    // of finished and running members
  double fraction = 0.0;            // of the generation's training work, in [0, 1]
  double elapsed_seconds = 0.0;     // since the generation's train order
  double eta_generation_seconds = -1.0;  // until its training ends; < 0: not known yet
  double eta_run_seconds = -1.0;         // until the run's training ends; < 0: not known yet
};

// A member of the final population's Pareto front (selection.objectives).
struct FrontMember {
  int member = 0;
  double fitness = 0.0;
  std::int64_t parameters = 0;
  double latency_ms = 0.0;
};

struct RunResult {
  int best_member = 0;                 // of the final population
  Genome genome;
  std::vector<double> fitness_history;
  FinalReport final_report;
  BestEver best_ever;
  std::string best_ever_file;          // "" = none
  bool has_best_ever_report = false;
  BestEverReport best_ever_report;
  bool has_soup_report = false;        // final_soup
  SoupReport soup_report;
  std::string checkpoint;              // RunStore::describe(last committed generation)
  // With several selection.objectives: their names, and the final population's first
  // non-dominated front (empty otherwise).
  std::vector<std::string> objectives;
  std::vector<FrontMember> pareto_front;
  std::int64_t front_generation = -1;  // the committed generation whose member files hold the front
};

class RunReport {
 public:
  virtual ~RunReport() = default;
  virtual void info(const std::string& line) = 0;
  virtual void warn(const std::string& line) = 0;
  virtual void started(const RunStart& start) = 0;
  // After training and ranking, before the exploit and the commit (reports, genomes, best and
  // median are set): per-member metrics must be durable before their generation is committed.
  virtual void scored(const GenerationSummary& summary) = 0;
  // While a generation trains, at most every runtime.progress_seconds (never when it is 0).
  virtual void progress(const TrainingProgress& progress) { (void)progress; }
  // After the commit: the whole summary (plan, timings, bytes).
  virtual void generation(const GenerationSummary& summary) = 0;
  virtual void finished(const RunResult& result) = 0;
};

}  // namespace pbtnas
