#pragma once
// A member's replay buffer (docs/rl.md, "Replay buffer"): a FIFO ring of time steps held as
// tensors in Member::extra, so that it is checkpointed, restored and moved at an exploit with
// the member (the task declares it with the Donor rule, docs/algorithm.md Q3). Entries:
//   replay.obs     float [C, obs_dim]   observation of the time step
//   replay.action  float [C, act_dim]   the action that led to it (zeros on a first step)
//   replay.reward  float [C]            the reward received with it (summed over action repeat)
//   replay.first   uint8 [C]            1 on the first step of an episode
//   replay.state   int64 [3]            {next write slot, number of stored steps, capacity C}
// The tensors hold only the rows allocated so far: they start empty and grow in chunks (1/16 of
// the capacity, at least 1,024 steps) until they reach C, so a young buffer is checkpointed and
// sent at an exploit at about the size of what it holds. (A state of 2 entries, from files written
// before buffers grew, means C = the rows of replay.obs.)
// A transition at slot k (not a first step) goes from obs[k-1] with action[k]; its n-step target
// sums reward[k..k+n-1] discounted and bootstraps from obs[k+n-1] (DrQ-v2's sampling).
#include <cstdint>

#include <torch/torch.h>

#include "pbtnas/core/seed.hpp"
#include "pbtnas/nn/named_state.hpp"

namespace pbtnas::rl {

struct Batch {
  torch::Tensor obs, action, reward, discount, next_obs;  // [B, ...], reward/discount [B, 1]
};

class ReplayBuffer {
 public:
  static constexpr const char* kName = "replay";
  // Fresh (empty) entries for a buffer of `capacity` steps, to append to Member::extra.
  static NamedState create(std::int64_t capacity, std::int64_t obs_dim, std::int64_t action_dim);
  // A view of the buffer inside `extra` (the tensors are written in place, and replaced by larger
  // ones when the buffer grows; `extra` must outlive this object).
  explicit ReplayBuffer(NamedState& extra);

  std::int64_t capacity() const { return capacity_; }
  std::int64_t allocated() const { return obs_.size(0); }  // rows held by the tensors
  std::int64_t size() const;
  // Appends a time step; `action` and `reward` are ignored (zero) when first is true.
  void add(const std::vector<double>& obs, const float* action, double reward, bool first);
  // B transitions drawn uniformly among the valid n-step ones (rejection sampling); throws
  // std::logic_error when the buffer holds none.
  Batch sample(int batch, int nstep, double gamma, Rng& rng) const;
  // Number of slots k that start a valid n-step transition (for tests).
  std::int64_t valid_transitions(int nstep) const;

 private:
  bool valid(std::int64_t j, int nstep) const;  // j = age index of the slot, 0 = oldest
  std::int64_t slot(std::int64_t j) const;
  torch::Tensor& entry(const char* field);
  void grow();  // allocates the next chunk of rows (never beyond the capacity)
  NamedState* extra_ = nullptr;
  torch::Tensor obs_, action_, reward_, first_, state_;
  std::int64_t capacity_ = 0, obs_dim_ = 0, action_dim_ = 0;
};

}  // namespace pbtnas::rl
