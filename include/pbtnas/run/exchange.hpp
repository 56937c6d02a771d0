#pragma once
// The worker side of one exploit step (ARCHITECTURE protocol step 4):
//   1. owners of parents snapshot the needed states (contiguous CPU copies);
//   2. every outgoing payload is posted non-blocking: a TensorManifest (names, dtypes, shapes)
//      on tag kTagManifestBase+t, then each tensor's bytes on tag kTagPayloadBase+t;
//   3. incoming manifests are received, tensors preallocated, receives posted into them;
//   4. everything is waited on together; a transfer within one rank is a local copy;
//   5. each child owned here is assembled: parent1's full state + the donor's swapped layers
//      shrink-perturbed against a fresh init of the child seeded by plan.fresh_seed (so the
//      result does not depend on where members live), weight mutation if planned, then loaded.
#include <cstdint>
#include <map>

#include "pbtnas/config.hpp"
#include "pbtnas/layout.hpp"
#include "pbtnas/nn/member.hpp"
#include "pbtnas/plan.hpp"
#include "pbtnas/tasks/task.hpp"
#include "pbtnas/transport.hpp"

namespace pbtnas {

struct ExchangeStats {
  double seconds = 0.0;           // the whole exploit on this rank
  double transfer_seconds = 0.0;  // posting and waiting for payloads
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
};

// Replaces the members of `members` (this rank's, by id) that the plan refills.
ExchangeStats execute_exploit(Transport& transport, const Layout& layout, const ExploitPlan& plan,
                              const RunConfig& cfg, const Task& task, torch::Device device,
                              std::map<int, Member>& members);

}  // namespace pbtnas
