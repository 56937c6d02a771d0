#pragma once
// The RL task's shared replay pool (rl.replay: shared; docs/rl.md, "Shared replay pool"): one
// FIFO ring of time steps for the whole population, as the paper's Walker and Humanoid runs
// share one. It lives once per node in shared memory or once per worker (below); it changes only
// at the end of a generation, when the workers have exchanged the generation's new steps of every member and append them episode by
// episode, round-robin in member order (SharedState, nn/shared_state.hpp). While a member trains in generation g it samples
// from the pool as committed at the end of g-1 and from its own steps of g, which it keeps in
// its replay entries (replay.hpp) until its worker takes them out as its contribution.
//
// The rows have the replay buffer's layout: obs, action, reward, first, rows of any dtype and
// shape (the layout of ReplayBuffer::create), plus the member that collected each row:
//   shared.pool.obs     [A, ...]   as replay.obs         (A = rows allocated so far, <= C)
//   shared.pool.action  [A, ...]   as replay.action
//   shared.pool.reward  float [A]
//   shared.pool.first   uint8 [A]  1 on the first step of an episode
//   shared.pool.member  int32 [A]  the member whose environment produced the row
//   shared.pool.state   int64 [3]  {next write slot, stored rows, capacity C}
// Like a member's buffer, the tensors grow in chunks (C/16, at least 1,024 rows) up to C.
//
// One pool per node (rl.pool_memory: node, the default; run/shared_node.hpp): the rows live in a
// region of shared memory of the node, laid out as a 4 KiB header {magic, C, next, stored,
// allocated} followed by each field's C rows (64-byte aligned); the node's writer commits into it,
// the node's other workers map it read-only and refresh() after each commit. Rows past
// `allocated` stay zero, so a placed pool exports (and checkpoints) exactly what a pool in a
// rank's own memory does.
//
// A commit behaves as if every row of the generation were written in order into the ring; rows
// that the ring would overwrite within the same commit are skipped but still advance the write
// slot. So a worker may leave out those rows before sending (trim(): traffic per generation is at
// most C rows per node) and the pool is the same.
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "pbtnas/core/seed.hpp"
#include "pbtnas/nn/shared_state.hpp"
#include "pbtnas/tasks/rl/replay.hpp"

namespace pbtnas::rl {

// A ring of time-step rows: the oldest stored row is at slot(0), the newest at slot(size - 1).
struct RowRing {
  torch::Tensor obs, action, reward, first;  // [allocated rows, ...], contiguous CPU
  std::int64_t next = 0, size = 0, capacity = 1;
  std::int64_t slot(std::int64_t j) const { return ((next - size + j) % capacity + capacity) % capacity; }
};

// The rows of the replay buffer held in `extra` (its "replay.*" entries).
RowRing buffer_rows(const NamedState& extra);

// Number of rows j (age index) that start a valid n-step transition in `ring` (for tests).
std::int64_t valid_transitions(const RowRing& ring, int nstep, int frame_stack = 1);

// B transitions drawn uniformly among the candidate n-step transitions of all rings together
// (a transition lies in one ring; episodes never span two): an age index is drawn uniformly over
// the candidates of every ring, rejected unless its n steps lie in one episode, as
// ReplayBuffer::sample does within one buffer (with frame stacks rebuilt for frame rows:
// valid_transition, stack_indices). Throws std::logic_error when no ring holds more than nstep rows.
Batch sample_rings(const std::vector<RowRing>& rings, int batch, int nstep, double gamma, Rng& rng,
                   int frame_stack = 1);

// Rows that could start a transition: the sum over the rings of (size - nstep), when positive.
std::int64_t candidate_rows(const std::vector<RowRing>& rings, int nstep);

class ReplayPool final : public SharedState {
 public:
  static constexpr const char* kName = "pool";
  // `layout`: a member buffer's entries as ReplayBuffer::create makes them (their rows' dtypes
  // and shapes are the pool's). `node_memory`: the pool may live in a node's shared memory
  // (region_bytes() > 0); otherwise it stays in the rank's memory.
  ReplayPool(std::int64_t capacity, const NamedState& layout, bool node_memory = false);

  std::string name() const override { return kName; }
  NamedState take_contribution(Member& member) override;
  void commit(const std::vector<Contribution>& contributions) override;
  NamedState export_state() const override;
  void import_state(const NamedState& state) override;
  std::vector<std::pair<std::string, std::int64_t>> facts() const override;
  std::size_t region_bytes() const override;
  void place(std::shared_ptr<SharedRegion> region) override;
  void refresh() override;
  // A contribution's episode lengths in rows (split at the first-step flags).
  std::vector<std::int64_t> outline(const NamedState& contribution) const override;
  // The rows of `member`'s contribution that survive the commit of all `outlines` (member ->
  // episode lengths): the contribution itself when the generation brings at most C rows, else its
  // newest rows, with a "skip" entry {rows left out, whole episodes left out} that commit() uses.
  NamedState trim(NamedState contribution, int member,
                  const std::map<int, std::vector<std::int64_t>>& outlines) const override;

  std::int64_t capacity() const { return capacity_; }
  std::int64_t size() const { return size_; }
  std::int64_t allocated() const { return allocated_; }
  bool placed() const { return region_ != nullptr; }
  RowRing rows() const;
  // The member of each stored row, oldest first.
  std::vector<int> row_members() const;

 private:
  void append(const NamedState& rows, int member);
  void skip(std::int64_t rows);  // advance the write slot as if `rows` rows were written
  void reserve(std::int64_t rows);
  void publish();                // the writer: next, stored and allocated into the region's header
  // The allocated rows of a field (the whole tensor in a rank's memory, a view of a placed one).
  torch::Tensor used(const torch::Tensor& t) const { return t.narrow(0, 0, allocated_); }

  // In a rank's memory: allocated rows; placed: C rows, views of the region.
  torch::Tensor obs_, action_, reward_, first_, member_;
  std::int64_t next_ = 0, size_ = 0, capacity_ = 0, allocated_ = 0;
  bool node_memory_ = false;
  std::shared_ptr<SharedRegion> region_;
};

}  // namespace pbtnas::rl
