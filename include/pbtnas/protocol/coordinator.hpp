#pragma once
// Rank 0: the PBT coordinator. It owns the population's bookkeeping (genomes, fitness histories,
// lineage), makes every exploit decision with pure functions, and never holds a weight tensor.
// It talks only to interfaces: Transport (MPI or in-process), RunStore (resume, commit,
// best-ever) and RunReport (progress, metrics, summary), so the whole protocol runs in tests
// without MPI, HDF5 or data. Message types and tags: messages.hpp.
//
//   0. resume or start fresh (RunStore::resume); StartOrder (fresh: the initial genomes) ->
//      workers; WorkerReady <- each worker (a worker that cannot start says why; then everybody
//      stops and the run returns kExitError).
//   Per generation g (epochs [g*step, (g+1)*step)):
//   1. train:      Order::train -> workers; a FitnessReport per member (a NaN/inf loss is a report
//                  with fitness -inf, never a crash), preceded by progress notes while it trains
//                  (RunReport::progress every runtime.progress_seconds; training_progress.hpp).
//   2. rank:       record fitness, update the best-ever member.
//   3. exploit:    Population::plan (empty when the schedule says no mixing) -> ExploitPlan;
//                  workers exchange layers point-to-point (exchange.hpp), ExploitDone <- each.
//   4. checkpoint: Population::apply; CheckpointOrder -> workers write member files,
//                  CheckpointDone <- each; RunStore::commit, then RunStore::keep_best_ever.
//   Finally Order::finish + FinalOrder -> workers; FinalReport <- the owner of the final best
//   member, BestEverReport <- rank 1 (final metrics of the best-ever member); RunReport::finished.
//
// Preemption: when `stop_requested` becomes non-zero (SIGUSR1, SIGINT or SIGTERM, e.g. SLURM's
// --signal warning or Ctrl-C) or the generation is testing.stop_after_generation, the
// coordinator finishes the generation in progress, commits it, stops the workers and returns
// kExitCheckpointed; a restart resumes. `points` (optional) is told when each generation's
// training starts and when it is committed (run_points.hpp: the testing hooks act there).
#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "pbtnas/core/config.hpp"
#include "pbtnas/protocol/run_points.hpp"
#include "pbtnas/protocol/run_report.hpp"
#include "pbtnas/protocol/run_store.hpp"
#include "pbtnas/core/search_space.hpp"
#include "pbtnas/core/transport.hpp"

namespace pbtnas {

constexpr int kExitOk = 0;
constexpr int kExitError = 2;
constexpr int kExitCheckpointed = 3;  // stopped early on request after a commit: resume later
constexpr int kExitWorkerLost = 4;    // a worker stopped answering: nothing partial committed; resume

// Thrown by run_coordinator when a worker that owes rank 0 a message stayed silent for the worker
// timeout (runtime.worker_timeout). The message names the ranks, hosts, members and the step; the
// caller ends the job with kExitWorkerLost (the silent worker will not finish by itself).
struct WorkerTimeout : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One worker as it reported ready, for the workers-ready line.
struct ReadyWorker {
  int rank = 0;
  std::string host, device;
  int threads = 1;
};
// (worker_watch.cpp) "4 on 2 hosts: nodea ranks 1-2 (cpu x 1 thread), nodeb ranks 3-4 (cuda:0, cuda:1 x 8 threads)":
// the hosts in order of their first rank, each with its ranks (runs of consecutive ranks as
// ranges), its devices and its thread counts.
std::string describe_ready_workers(const std::vector<ReadyWorker>& workers);

// Runs the whole search; returns kExitOk, kExitError (reported) or kExitCheckpointed. Throws when
// a worker fails mid-generation (other workers may be blocked; the caller aborts the job).
int run_coordinator(Transport& transport, const RunConfig& cfg, const SearchSpace& space,
                    RunStore& store, RunReport& report,
                    const std::atomic<int>* stop_requested = nullptr, RunPoints* points = nullptr);

}  // namespace pbtnas
