#pragma once
// DrQ-v2's DDPG core on state input (docs/rl.md, "Agent"; Yarats et al. 2021): twin critic with
// an averaged target critic, n-step returns, actor loss -min(Q1, Q2), clipped Gaussian
// exploration with a linear sigma schedule. One Adam optimizer for the actor and one for the
// critic, and with pixel input a third for the encoder, which learns through the critic loss only
// (the actor sees the detached encoding), with DrQ-v2's random-shift augmentation.
#include <cstdint>

#include <torch/torch.h>

#include "pbtnas/tasks/rl/replay.hpp"
#include "pbtnas/tasks/rl/rl_nets.hpp"
#include "pbtnas/tasks/rl/rl_options.hpp"

namespace pbtnas::rl {

// linear(start -> end over `steps` agent steps), then end.
double stddev_at(const RlOptions& cfg, std::int64_t step);

// The parts of a member the agent works on.
struct AgentParts {
  AgentNets nets{nullptr};
  TargetNets target{nullptr};
  torch::optim::Optimizer* actor_opt = nullptr;
  torch::optim::Optimizer* critic_opt = nullptr;
  torch::optim::Optimizer* encoder_opt = nullptr;  // pixels only
};

// DrQ-v2's random shift: pads [B, C, S, S] by `pad` pixels replicating the border, then takes
// each image's S x S window at integer offsets (shift_x, shift_y) in [0, 2 * pad], written as
// DrQ-v2 writes it (bilinear grid_sample on pixel centres, align_corners false, zero padding).
// shifts: [B, 2] (x, y), float.
torch::Tensor shift_images(const torch::Tensor& x, int pad, const torch::Tensor& shifts);
// The same with the shifts drawn uniformly from `gen` (a CPU generator).
torch::Tensor random_shift(const torch::Tensor& x, int pad, at::Generator& gen);

struct UpdateStats {
  double critic_loss = 0.0;
  double actor_loss = 0.0;
};

// The action for `obs` at agent step `step`: the mean when `eval`; otherwise uniform in [-1, 1]
// during the first exploration_steps, else mean + sigma(step) * N(0, 1) clamped into (-1, 1).
// The actor runs in eval mode here (as DrQ-v2's act), so spectral norm does no power iteration.
std::vector<float> act(const RlOptions& cfg, Actor& actor, const std::vector<double>& obs,
                       std::int64_t step, bool eval, at::Generator& gen, Rng& rng);
// Pixel input: `frames` is the stacked observation, uint8 [K*3, S, S]; the encoder runs in eval
// mode too.
std::vector<float> act_pixels(const RlOptions& cfg, Encoder& encoder, Actor& actor, const torch::Tensor& frames,
                              std::int64_t step, bool eval, at::Generator& gen, Rng& rng);

// One update on `batch` at agent step `step`: critic (MSE(Q1, y) + MSE(Q2, y), y = r_n +
// gamma^n * min(Q1', Q2')(s', a'), a' = clamp(mu(s') + clip(sigma * eps, +-stddev_clip))), then
// actor (-min(Q1, Q2)(s, a), a the same clipped sample at s), then the target's soft update
// target = tau * critic + (1 - tau) * target over parameters.
UpdateStats update(const RlOptions& cfg, AgentParts& parts, const Batch& batch, std::int64_t step,
                   at::Generator& gen);

// target <- tau * source + (1 - tau) * target for every parameter (buffers are left as they are).
void soft_update(torch::nn::Module& target, const torch::nn::Module& source, double tau);

}  // namespace pbtnas::rl
