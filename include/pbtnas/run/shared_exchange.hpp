#pragma once
// The end of a generation for a task with population-wide state (nn/shared_state.hpp, e.g. the RL
// task's shared replay pool): every worker takes its members' contributions out of them and sends
// them to every worker that writes a copy of the state (run/shared_node.hpp: one per node in
// shared memory, or every worker with per-rank copies); the writers commit all of them in member
// order, so that every copy is the same whatever the placement of the members.
//   1. every worker sends its members' outlines (SharedState::outline, a few values per member) to
//      every other worker (tag kTagSharedOutline), and trims each contribution to what the commit
//      keeps (SharedState::trim: at most the capacity's rows per generation cross the network);
//   2. it packs the trimmed contributions into one payload (tensor names "m<id>.<field>", the
//      payload codec of an exploit) and posts it to every other writer: a 16-byte size header on
//      tag kTagSharedHeader, the buffer on tag kTagSharedPayload;
//   3. a writer receives the other workers' headers, preallocates, posts the receives, waits;
//   4. it commits the contributions of all members, ascending by id; a node's writer then sends
//      "committed" to the node's readers (kTagSharedNode), which wait for it and refresh().
// Written against Transport; run by the workers only (once the exploit plan has arrived, before
// the exploit's transfers); the coordinator takes no part in it. A reader takes part only after
// it has trained all its members, and a writer commits only once every worker's payload has
// arrived, so nobody reads the node's copy while it is written. Traffic per worker and generation:
// its members' (trimmed) new rows to each writer but itself (one copy per node with node copies).
#include <cstdint>
#include <map>

#include "pbtnas/core/layout.hpp"
#include "pbtnas/core/transport.hpp"
#include "pbtnas/nn/member.hpp"
#include "pbtnas/nn/shared_state.hpp"
#include "pbtnas/run/shared_node.hpp"

namespace pbtnas {

struct SharedExchangeStats {
  double seconds = 0.0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  int contributions = 0;  // members whose contribution was committed (all workers together)
};

// `members`: this worker's members (by id); their contributions are taken out of them.
// `placement`: who writes a copy (run/shared_node.hpp); only those receive the new rows.
SharedExchangeStats exchange_shared_state(Transport& transport, std::map<int, Member>& members, SharedState& shared,
                                          const SharedPlacement& placement);

}  // namespace pbtnas
