#include "pbtnas/tasks/rl/agent.hpp"

#include <algorithm>

namespace pbtnas::rl {

namespace {
constexpr double kActionEps = 1e-6;  // DrQ-v2's TruncatedNormal keeps samples inside (-1, 1)

// mean + clip(sigma * eps) clamped into (-1 + 1e-6, 1 - 1e-6); the clamp passes gradients
// straight through (as DrQ-v2's TruncatedNormal._clamp).
torch::Tensor clipped_sample(const torch::Tensor& mu, double sigma, double clip, at::Generator& gen) {
  // Drawn on the CPU from the step's generator, so CPU and CUDA runs see the same noise.
  torch::Tensor eps = torch::empty(mu.sizes(), torch::kFloat).normal_(0.0, 1.0, gen).to(mu.device()) * sigma;
  if (clip > 0) eps = eps.clamp(-clip, clip);
  const torch::Tensor x = mu + eps;
  const torch::Tensor clamped = x.clamp(-1.0 + kActionEps, 1.0 - kActionEps);
  return x - x.detach() + clamped.detach();
}
}  // namespace

double stddev_at(const RlOptions& cfg, std::int64_t step) {
  const double mix = std::clamp(static_cast<double>(step) / static_cast<double>(cfg.stddev_steps), 0.0, 1.0);
  return (1.0 - mix) * cfg.stddev_start + mix * cfg.stddev_end;
}

namespace {
// The action from the actor's mean `mu` [1, A] (see act()).
std::vector<float> finish_action(const RlOptions& cfg, const torch::Tensor& mu, std::int64_t step, bool eval,
                                 at::Generator& gen, Rng& rng);
}  // namespace

torch::Tensor shift_images(const torch::Tensor& x, int pad, const torch::Tensor& shifts) {
  const std::int64_t n = x.size(0), h = x.size(2);
  if (x.size(3) != h) throw std::invalid_argument("random shift: images must be square");
  if (pad == 0) return x;
  namespace F = torch::nn::functional;
  const torch::Tensor padded = F::pad(x, F::PadFuncOptions({pad, pad, pad, pad}).mode(torch::kReplicate));
  const double eps = 1.0 / static_cast<double>(h + 2 * pad);
  const torch::Tensor arange =
      torch::linspace(-1.0 + eps, 1.0 - eps, h + 2 * pad, x.options()).slice(0, 0, h);
  const torch::Tensor ax = arange.unsqueeze(0).repeat({h, 1}).unsqueeze(2);  // [h, h, 1]: x varies along columns
  const torch::Tensor base = torch::cat({ax, ax.transpose(1, 0)}, 2).unsqueeze(0).repeat({n, 1, 1, 1});
  const torch::Tensor shift = shifts.to(x.options()).view({n, 1, 1, 2}) * (2.0 / static_cast<double>(h + 2 * pad));
  return F::grid_sample(padded, base + shift,
                        F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(false));
}

torch::Tensor random_shift(const torch::Tensor& x, int pad, at::Generator& gen) {
  if (pad == 0) return x;
  // Drawn on the CPU from the step's generator, so CPU and CUDA runs see the same shifts.
  const torch::Tensor shifts = torch::randint(0, 2 * pad + 1, {x.size(0), 2}, gen, torch::kFloat);
  return shift_images(x, pad, shifts.to(x.device()));
}

std::vector<float> act_pixels(const RlOptions& cfg, Encoder& encoder, Actor& actor, const torch::Tensor& frames,
                              std::int64_t step, bool eval, at::Generator& gen, Rng& rng) {
  torch::NoGradGuard ng;
  const bool enc_training = encoder->is_training(), actor_training = actor->is_training();
  encoder->eval();
  actor->eval();
  const torch::Device device = actor->parameters().front().device();
  const torch::Tensor mu = actor->forward(encoder->forward(frames.unsqueeze(0).to(device)));
  if (enc_training) encoder->train();
  if (actor_training) actor->train();
  return finish_action(cfg, mu, step, eval, gen, rng);
}

std::vector<float> act(const RlOptions& cfg, Actor& actor, const std::vector<double>& obs,
                       std::int64_t step, bool eval, at::Generator& gen, Rng& rng) {
  const auto n = static_cast<std::int64_t>(obs.size());
  torch::NoGradGuard ng;
  torch::Tensor o = torch::empty({1, n});
  for (std::int64_t i = 0; i < n; ++i) o.data_ptr<float>()[i] = static_cast<float>(obs[static_cast<std::size_t>(i)]);
  // DrQ-v2 acts in eval mode (no spectral-norm power iteration), during training too.
  const bool was_training = actor->is_training();
  actor->eval();
  const torch::Tensor mu = actor->forward(o.to(actor->parameters().front().device()));
  if (was_training) actor->train();
  return finish_action(cfg, mu, step, eval, gen, rng);
}

namespace {
std::vector<float> finish_action(const RlOptions& cfg, const torch::Tensor& mu, std::int64_t step, bool eval,
                                 at::Generator& gen, Rng& rng) {
  torch::Tensor a;
  if (eval) {
    a = mu;
  } else {
    a = clipped_sample(mu, stddev_at(cfg, step), 0.0, gen);
  }
  a = a.to(torch::kCPU).contiguous();
  std::vector<float> out(a.data_ptr<float>(), a.data_ptr<float>() + a.numel());
  if (!eval && step < cfg.exploration_steps)
    for (auto& v : out) v = static_cast<float>(2.0 * rng.uniform() - 1.0);
  return out;
}
}  // namespace

void soft_update(torch::nn::Module& target, const torch::nn::Module& source, double tau) {
  torch::NoGradGuard ng;
  const auto src = source.named_parameters(true);
  for (auto& p : target.named_parameters(true)) {
    const torch::Tensor& s = src[p.key()];
    p.value().mul_(1.0 - tau).add_(s, tau);
  }
}

UpdateStats update(const RlOptions& cfg, AgentParts& parts, const Batch& batch, std::int64_t step,
                   at::Generator& gen) {
  const torch::Device device = parts.nets->parameters().front().device();
  torch::Tensor obs = batch.obs.to(device), next_obs = batch.next_obs.to(device);
  const torch::Tensor action = batch.action.to(device), reward = batch.reward.to(device),
                      discount = batch.discount.to(device);
  const double sigma = stddev_at(cfg, step);
  UpdateStats stats;
  Encoder& encoder = parts.nets->encoder;
  if (encoder) {
    // DrQ-v2: augment both observations, encode them (the next one without gradient).
    obs = encoder->forward(random_shift(obs.to(torch::kFloat), cfg.shift_pad, gen));
    torch::Tensor next_shifted = random_shift(next_obs.to(torch::kFloat), cfg.shift_pad, gen);
    torch::NoGradGuard ng;
    next_obs = encoder->forward(next_shifted);
  }

  // Critic.
  torch::Tensor target_q;
  {
    torch::NoGradGuard ng;
    const torch::Tensor mu = parts.nets->actor->forward(next_obs);
    const torch::Tensor next_action = clipped_sample(mu, sigma, cfg.stddev_clip, gen);
    auto [t1, t2] = parts.target->critic->forward(next_obs, next_action);
    target_q = reward + discount * torch::min(t1, t2);
  }
  auto [q1, q2] = parts.nets->critic->forward(obs, action);
  const torch::Tensor critic_loss = torch::mse_loss(q1, target_q) + torch::mse_loss(q2, target_q);
  if (parts.encoder_opt) parts.encoder_opt->zero_grad();
  parts.critic_opt->zero_grad();
  critic_loss.backward();
  parts.critic_opt->step();
  if (parts.encoder_opt) parts.encoder_opt->step();
  stats.critic_loss = critic_loss.item<double>();

  // Actor, on the detached encoding with pixels.
  if (encoder) obs = obs.detach();
  const torch::Tensor mu = parts.nets->actor->forward(obs);
  const torch::Tensor a = clipped_sample(mu, sigma, cfg.stddev_clip, gen);
  auto [p1, p2] = parts.nets->critic->forward(obs, a);
  const torch::Tensor actor_loss = -torch::min(p1, p2).mean();
  parts.actor_opt->zero_grad();
  actor_loss.backward();
  parts.actor_opt->step();
  stats.actor_loss = actor_loss.item<double>();

  soft_update(*parts.target->critic, *parts.nets->critic, cfg.critic_tau);
  return stats;
}

}  // namespace pbtnas::rl
