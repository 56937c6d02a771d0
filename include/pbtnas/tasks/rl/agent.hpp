#pragma once
// DrQ-v2's DDPG core on state input (docs/rl.md, "Agent"; Yarats et al. 2021): twin critic with
// an averaged target critic, n-step returns, actor loss -min(Q1, Q2), clipped Gaussian
// exploration with a linear sigma schedule. One Adam optimizer for the actor and one for the
// critic (the third, the encoder's, exists only with pixel input).
#include <cstdint>

#include <torch/torch.h>

#include "pbtnas/tasks/rl/replay.hpp"
#include "pbtnas/tasks/rl/rl_nets.hpp"
#include "pbtnas/tasks/rl/rl_options.hpp"

namespace pbtnas::rl {

// linear(start -> end over `steps` agent steps), then end.
double stddev_at(const RlTaskConfig& cfg, std::int64_t step);

// The parts of a member the agent works on.
struct AgentParts {
  AgentNets nets{nullptr};
  TargetNets target{nullptr};
  torch::optim::Optimizer* actor_opt = nullptr;
  torch::optim::Optimizer* critic_opt = nullptr;
};

struct UpdateStats {
  double critic_loss = 0.0;
  double actor_loss = 0.0;
};

// The action for `obs` at agent step `step`: the mean when `eval`; otherwise uniform in [-1, 1]
// during the first exploration_steps, else mean + sigma(step) * N(0, 1) clamped into (-1, 1).
// The actor runs in eval mode here (as DrQ-v2's act), so spectral norm does no power iteration.
std::vector<float> act(const RlTaskConfig& cfg, Actor& actor, const std::vector<double>& obs,
                       std::int64_t step, bool eval, at::Generator& gen, Rng& rng);

// One update on `batch` at agent step `step`: critic (MSE(Q1, y) + MSE(Q2, y), y = r_n +
// gamma^n * min(Q1', Q2')(s', a'), a' = clamp(mu(s') + clip(sigma * eps, +-stddev_clip))), then
// actor (-min(Q1, Q2)(s, a), a the same clipped sample at s), then the target's soft update
// target = tau * critic + (1 - tau) * target over parameters.
UpdateStats update(const RlTaskConfig& cfg, AgentParts& parts, const Batch& batch, std::int64_t step,
                   at::Generator& gen);

// target <- tau * source + (1 - tau) * target for every parameter (buffers are left as they are).
void soft_update(torch::nn::Module& target, const torch::nn::Module& source, double tau);

}  // namespace pbtnas::rl
