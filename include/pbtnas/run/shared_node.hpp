#pragma once
// Where a task's population-wide state lives (nn/shared_state.hpp; docs/rl.md, "Shared replay
// pool"): one copy per node in shared memory, or a replica per worker rank.
//
// At the start every worker sends its host name to every other worker (kTagSharedNode), so all
// of them group the workers into nodes the same way (core/layout.hpp, node_leaders). On each node
// where the state asks for a region (SharedState::region_bytes() > 0):
//   1. the leader (the node's lowest worker rank) removes the run's stale regions of its node,
//      creates the region in node scratch (util/shared_region.hpp), places the state there and
//      loads the checkpoint on resume; then it tells each other worker of its node the region's
//      path ("" when the region could not be made: every worker of the node keeps a replica, and
//      the leader logs why);
//   2. the other workers (readers) map it read-only and answer; one that cannot map it keeps a
//      replica instead (and says so); the leader removes the region's name once all have answered;
//   3. every worker tells every other whether it holds a copy it writes (a leader, or a replica):
//      those are the ranks that receive each generation's new rows.
// Every message is sent whatever fails on the way, so no worker waits forever; a failure is
// returned and reported in the worker's WorkerReady.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pbtnas/core/log.hpp"
#include "pbtnas/core/transport.hpp"
#include "pbtnas/nn/shared_state.hpp"
#include "pbtnas/util/shared_region.hpp"

namespace pbtnas {

struct SharedPlacement {
  std::vector<int> leader;   // per rank (index 0 unused): its node's lowest worker rank
  std::vector<char> holder;  // per rank: keeps a copy it writes, so it receives the new rows
  std::shared_ptr<SharedRegion> region;  // this rank's mapping of its node's copy; null: own memory
  bool active = false;       // every worker has the state (else none of this runs)
  bool holds(int rank) const { return holder.at(static_cast<std::size_t>(rank)) != 0; }
  // The ranks reading `rank`'s node copy (empty unless `rank` writes a node copy).
  std::vector<int> readers_of(int rank) const;
  // The writer of this rank's copy: itself for a holder, else its node's leader.
  int writer_of(int rank) const;
};

// Runs the start protocol above on a worker. `shared` may be null (the task has no shared state,
// or this worker failed to make it): the worker still exchanges host names, and then no worker
// places anything. `out_dir` names the run (region names), `resume_generation` >= 0 loads
// OUT/checkpoints/gen_NNNNNN/<name>.h5 into every copy. Sets `error` (empty when all went well).
SharedPlacement place_shared_state(Transport& transport, SharedState* shared, const std::string& host,
                                   const std::string& out_dir, std::int64_t resume_generation, Logger& log,
                                   std::string& error);

}  // namespace pbtnas
