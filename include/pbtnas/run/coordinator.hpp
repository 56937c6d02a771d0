#pragma once
// Rank 0: the PBT coordinator. It owns the population's bookkeeping (genomes, fitness histories,
// lineage), makes every exploit decision with pure functions, commits checkpoints, and never
// holds a weight tensor.
//
// Protocol (tags in messages.hpp):
//   0. StartOrder{resume generation or -1} -> every worker; WorkerReady <- every worker
//      (a worker that cannot start reports why; then everybody stops and the run exits 2).
//   Per generation g (epochs [g*step, (g+1)*step)):
//   1. TrainOrder{g, epoch_begin, epochs} -> workers; each trains its members and replies one
//      FitnessReport per member (a NaN/inf loss is a report with fitness -inf, never a crash).
//   2. Rank, then Population::plan (empty when the schedule says no mixing) -> ExploitPlan to
//      every worker; workers exchange layers point-to-point (exchange.hpp), reply ExploitDone.
//   3. Population::apply (genomes, lineage, history); CheckpointOrder -> workers write their
//      member files and reply CheckpointDone (sizes, CRC-32); rank 0 writes index.h5, which
//      commits generation g atomically (io/run_dir.hpp).
//   Finally TrainOrder{stop, final_member = best} -> workers; the best member's owner replies
//   FinalReport (validation and test score); rank 0 prints the summary and writes summary.json.
// A run restarted on the same --out resumes after the newest committed generation.
//
// Preemption: when `stop_requested` becomes non-zero (SIGUSR1, e.g. SLURM's --signal warning),
// the coordinator finishes the generation in progress, commits it, stops the workers and
// returns kExitCheckpointed, so that the job script can requeue itself; the requeued run resumes.
#include <atomic>
#include <string>

#include "pbtnas/config.hpp"
#include "pbtnas/log.hpp"
#include "pbtnas/search_space.hpp"
#include "pbtnas/transport.hpp"

namespace pbtnas {

constexpr int kExitOk = 0;
constexpr int kExitError = 2;
constexpr int kExitCheckpointed = 3;  // stopped early on request after a commit: resume later

// Runs the whole search; returns kExitOk, kExitError (with a message) or kExitCheckpointed.
int run_coordinator(Transport& transport, const RunConfig& cfg, const SearchSpace& space,
                    const std::string& out_dir, Logger& log,
                    const std::atomic<int>* stop_requested = nullptr);

}  // namespace pbtnas
