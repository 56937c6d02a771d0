#pragma once
// A member's replay buffer (docs/rl.md, "Replay buffer"): a FIFO ring of time steps held as
// tensors in Member::extra, so that it is checkpointed, restored and moved at an exploit with
// the member (the task declares it with the Donor rule, docs/algorithm.md Q3). Entries:
//   replay.obs     float [C, obs_dim]   observation of the time step (state input), or
//                  uint8 [C, 3, H, W]   its rendered frame (pixel input: one frame per time step;
//                                       the stacked observation is rebuilt when sampling)
//   replay.action  float [C, act_dim]   the action that led to it (zeros on a first step)
//   replay.reward  float [C]            the reward received with it (summed over action repeat)
//   replay.first   uint8 [C]            1 on the first step of an episode
//   replay.state   int64 [3]            {next write slot, number of stored steps, capacity C}
// The tensors hold only the rows allocated so far: they start empty and grow in chunks (1/16 of
// the capacity, at least 1,024 steps) until they reach C, so a young buffer is checkpointed and
// sent at an exploit at about the size of what it holds. (A state of 2 entries, from files written
// before buffers grew, means C = the rows of replay.obs.)
// A transition at slot k (not a first step) goes from obs[k-1] with action[k]; its n-step target
// sums reward[k..k+n-1] discounted and bootstraps from obs[k+n-1] (DrQ-v2's sampling). With a
// frame stack of K (pixel input) the observation of slot i is the frames of slots i-K+1..i, each
// one before the episode's first step replaced by that first frame (DrQ-v2's frame stack at reset).
#include <cstdint>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "pbtnas/core/seed.hpp"
#include "pbtnas/nn/named_state.hpp"

namespace pbtnas::rl {

struct Batch {
  // [B, ...], reward/discount [B, 1]; obs/next_obs float [B, obs_dim] (state) or uint8
  // [B, K*3, H, W] (pixels, K stacked frames, oldest first)
  torch::Tensor obs, action, reward, discount, next_obs;
};

// The rows of a FIFO ring of time steps, whoever owns them (a member's buffer, a shared pool):
// row tensors of at least `size` allocated rows, and the ring position. Age index j (0 = oldest
// stored step) lives in row (oldest + j) % capacity.
struct ReplayRows {
  torch::Tensor obs, action, reward, first;  // as the replay.* entries above
  std::int64_t oldest = 0, size = 0, capacity = 1;
  std::int64_t row(std::int64_t j) const { return (oldest + j) % capacity; }
};

// Whether age index j starts a valid n-step transition: the previous step and n steps of one
// episode are stored, and so are the frame_stack - 1 steps before the previous one or the
// episode's first step (frame_stack 1: state input).
bool valid_transition(const ReplayRows& rows, std::int64_t j, int nstep, int frame_stack);
// The age indices of the frames that make the stacked observation of age index i (oldest first).
std::vector<std::int64_t> stack_indices(const ReplayRows& rows, std::int64_t i, int frame_stack);
// B transitions drawn uniformly among the valid ones (rejection sampling on `rng`); throws
// std::logic_error when there are none.
Batch sample_transitions(const ReplayRows& rows, int batch, int nstep, double gamma, int frame_stack, Rng& rng);
// The batch of the transitions drawn[i] = (ring, age index j), each valid in its ring
// (valid_transition): observation stacks at j - 1 and j + n - 1, action of j, n-step return.
Batch gather_transitions(const std::vector<ReplayRows>& rings,
                         const std::vector<std::pair<std::size_t, std::int64_t>>& drawn, int nstep, double gamma,
                         int frame_stack);

class ReplayBuffer {
 public:
  static constexpr const char* kName = "replay";
  // Fresh (empty) entries for a buffer of `capacity` steps, to append to Member::extra.
  static NamedState create(std::int64_t capacity, std::int64_t obs_dim, std::int64_t action_dim);
  // Pixel input: one uint8 frame of `frame_shape` (3, H, W) per time step.
  static NamedState create_frames(std::int64_t capacity, const std::vector<std::int64_t>& frame_shape,
                                  std::int64_t action_dim);
  // A view of the buffer inside `extra` (the tensors are written in place, and replaced by larger
  // ones when the buffer grows; `extra` must outlive this object).
  explicit ReplayBuffer(NamedState& extra);

  std::int64_t capacity() const { return capacity_; }
  std::int64_t allocated() const { return obs_.size(0); }  // rows held by the tensors
  std::int64_t size() const;
  // Appends a time step; `action` and `reward` are ignored (zero) when first is true.
  void add(const std::vector<double>& obs, const float* action, double reward, bool first);
  // Pixel input: appends one frame (frame_numel() bytes).
  void add_frame(const std::uint8_t* frame, const float* action, double reward, bool first);
  bool pixels() const { return obs_.scalar_type() == torch::kUInt8; }
  std::int64_t frame_numel() const { return frame_numel_; }
  // B transitions drawn uniformly among the valid n-step ones (sample_transitions); throws
  // std::logic_error when the buffer holds none.
  Batch sample(int batch, int nstep, double gamma, Rng& rng, int frame_stack = 1) const;
  // Number of slots k that start a valid n-step transition (for tests).
  std::int64_t valid_transitions(int nstep, int frame_stack = 1) const;
  ReplayRows rows() const;

 private:
  std::int64_t begin_row(const float* action, double reward, bool first);  // returns the row to fill
  torch::Tensor& entry(const char* field);
  void grow();  // allocates the next chunk of rows (never beyond the capacity)
  NamedState* extra_ = nullptr;
  torch::Tensor obs_, action_, reward_, first_, state_;
  std::int64_t capacity_ = 0, obs_dim_ = 0, frame_numel_ = 0, action_dim_ = 0;
};

}  // namespace pbtnas::rl
