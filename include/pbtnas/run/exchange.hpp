#pragma once
// The worker side of one exploit step (ARCHITECTURE protocol step 4):
//   1. owners of parents snapshot the needed states (borrowed: the live CPU tensors, not copied),
//      each when its first payload is encoded;
//   2. every outgoing payload is encoded (nn/payload.hpp) and posted non-blocking: its head (a
//      32-byte header and the CRC-protected manifest of names, dtypes and shapes) on tag
//      kTagManifestBase+t as soon as it is built, then on tag kTagPayloadBase+t every large
//      tensor from its own storage (no staging copy) and, once packed, one (pooled) block with
//      the small tensors, each chunked below INT_MAX;
//   3. incoming heads are received and checked, one pooled block taken for the payload (its
//      inline part, then every large tensor in its final shape and dtype), receives posted into it;
//   4. everything is waited on together; the received small tensors are views into their
//      block; a transfer within one rank is a local copy;
//   5. each child owned here is assembled: parent1's full state + the donor's swapped layers
//      shrink-perturbed against a fresh init of the child seeded by plan.fresh_seed (so the
//      result does not depend on where members live), weight mutation if planned, then loaded.
#include <cstdint>
#include <map>

#include "pbtnas/core/config.hpp"
#include "pbtnas/core/layout.hpp"
#include "pbtnas/nn/member.hpp"
#include "pbtnas/core/plan.hpp"
#include "pbtnas/tasks/task.hpp"
#include "pbtnas/core/transport.hpp"

namespace pbtnas {

struct ExchangeStats {
  double seconds = 0.0;           // the whole exploit on this rank
  double transfer_seconds = 0.0;  // posting and waiting for payloads (snapshots included)
  // Where the time goes (bench-exchange prints them): the parents' snapshots (taken inside the
  // transfer, as each parent's first payload is encoded); encoding and posting the outgoing
  // payloads (snapshots not included); waiting for the heads of incoming ones; decoding the heads
  // and posting their receives; waiting for all messages; building the received tensors.
  double snapshot_seconds = 0.0, encode_seconds = 0.0, head_wait_seconds = 0.0, decode_seconds = 0.0,
         wait_seconds = 0.0, finish_seconds = 0.0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
};

// Replaces the members of `members` (this rank's, by id) that the plan refills.
ExchangeStats execute_exploit(Transport& transport, const Layout& layout, const ExploitPlan& plan,
                              const RunConfig& cfg, const Task& task, torch::Device device,
                              std::map<int, Member>& members);

// After the exploit, when plan.owners changes the placement (runtime.balance: measured): every
// member whose owner changes is sent whole (export_member_state plus its genome) from its old
// owner to its new one, packed and posted like an exploit payload, and rebuilt there with
// task.create + import_member_state, which restores exactly what a checkpoint restores.
// `members` loses the members that leave and gains those that arrive.
ExchangeStats move_members(Transport& transport, const Layout& from, const Layout& to, const Task& task,
                           torch::Device device, std::map<int, Member>& members);

}  // namespace pbtnas
