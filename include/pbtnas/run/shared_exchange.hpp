#pragma once
// The end of a generation for a task with population-wide state (nn/shared_state.hpp, e.g. the RL
// task's shared replay pool): every worker takes its members' contributions out of them, sends
// them to every other worker and receives theirs, and commits all of them in member order into
// its replica, so that every worker holds the same state whatever the placement of the members.
//   1. each worker packs its members' contributions into one payload (tensor names
//      "m<id>.<field>", the payload codec of an exploit) and posts it to every other worker: a
//      16-byte size header on tag kTagSharedHeader, the buffer on tag kTagSharedPayload;
//   2. it receives the other workers' headers, preallocates, posts the receives, waits for all;
//   3. it commits the contributions of all members, ascending by id.
// Written against Transport; run by the workers only (once the exploit plan has arrived, before
// the exploit's transfers); the coordinator takes no part in it. Traffic per worker and generation: its members' new rows
// to each of the other workers (W - 1 copies).
#include <cstdint>
#include <map>

#include "pbtnas/core/layout.hpp"
#include "pbtnas/core/transport.hpp"
#include "pbtnas/nn/member.hpp"
#include "pbtnas/nn/shared_state.hpp"

namespace pbtnas {

struct SharedExchangeStats {
  double seconds = 0.0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  int contributions = 0;  // members whose contribution was committed (all workers together)
};

// `members`: this worker's members (by id); their contributions are taken out of them.
SharedExchangeStats exchange_shared_state(Transport& transport, std::map<int, Member>& members, SharedState& shared);

}  // namespace pbtnas
