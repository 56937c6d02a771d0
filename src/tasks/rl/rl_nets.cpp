#include "pbtnas/tasks/rl/rl_nets.hpp"

#include <cmath>
#include <stdexcept>

#include "pbtnas/core/hash.hpp"

namespace pbtnas::rl {

std::uint64_t InitStream::next_seed() {
  // splitmix64 of (seed, counter): one independent stream per layer.
  return mix64(seed_ + kGoldenGamma * (++count_));
}

torch::Tensor orthogonal(std::int64_t rows, std::int64_t cols, at::Generator gen) {
  torch::NoGradGuard ng;
  // As torch.nn.init.orthogonal_: QR of a Gaussian matrix with the larger side first, the signs of
  // R's diagonal folded into Q, transposed back when rows < cols.
  const bool wide = rows < cols;
  torch::Tensor a = torch::empty({wide ? cols : rows, wide ? rows : cols}, torch::kFloat).normal_(0.0, 1.0, gen);
  auto [q, r] = torch::linalg_qr(a);
  q = q * torch::sign(torch::diagonal(r, 0, -2, -1)).unsqueeze(0);
  if (wide) q = q.t();
  return q.contiguous();
}

torch::Tensor activate(const std::string& name, const torch::Tensor& x) {
  if (name == "id") return x;
  if (name == "relu") return torch::relu(x);
  if (name == "tanh") return torch::tanh(x);
  if (name == "swish") return torch::silu(x);
  throw std::invalid_argument("unknown activation '" + name + "'");
}

SwitchLinearImpl::SwitchLinearImpl(std::int64_t in, std::int64_t out, bool spectral_on, InitStream& init)
    : spectral(spectral_on) {
  // The released RL networks use PyTorch's parametrization flavour of spectral norm (u before v in
  // each iteration; 17 at construction when on, 15 when off; docs/algorithm.md, "Spectral norm").
  sn = register_module("sn", gan::SNLinear(gan::SNLinearOptions(in, out)
                                               .seed(init.next_seed())
                                               .style(gan::SpectralStyle::Parametrization)
                                               .init_iterations(spectral ? gan::kReleasedRlSwitchedOnInitIterations
                                                                         : gan::kParametrizationInitIterations)));
  torch::NoGradGuard ng;
  // Published quirk (docs/algorithm.md Q6): with spectral norm on, the orthogonal init misses the
  // layer, which keeps PyTorch's default init; the bias is zeroed either way.
  if (!(spectral && init.sn_init_quirk())) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(init.next_seed());
    sn->weight_orig.copy_(orthogonal(out, in, gen));
  }
  sn->bias.zero_();
}

torch::Tensor SwitchLinearImpl::forward(const torch::Tensor& x) {
  if (spectral) return sn->forward(x);
  return torch::nn::functional::linear(x, sn->weight_orig, sn->bias);
}

torch::nn::Linear plain_linear(std::int64_t in, std::int64_t out, InitStream& init) {
  torch::nn::Linear l(in, out);
  torch::NoGradGuard ng;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(init.next_seed());
  l->weight.copy_(orthogonal(out, in, gen));
  l->bias.zero_();
  return l;
}

SearchLayerImpl::SearchLayerImpl(const std::string& op, const std::string& act, std::int64_t hidden,
                                 bool spectral, InitStream& init)
    : op_(op), act_(act) {
  if (op == "id") return;
  if (op == "linear") {
    fc_ = register_module("fc", SwitchLinear(hidden, hidden, spectral, init));
    return;
  }
  std::int64_t inner = 0;
  if (op == "residual_05") inner = hidden / 2;
  else if (op == "residual_2") inner = hidden * 2;
  else throw std::invalid_argument("unknown linear op '" + op + "'");
  inner = std::max<std::int64_t>(inner, 1);
  ln_ = register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden})));
  fc1_ = register_module("fc1", SwitchLinear(hidden, inner, spectral, init));
  fc2_ = register_module("fc2", SwitchLinear(inner, hidden, spectral, init));
}

torch::Tensor SearchLayerImpl::forward(const torch::Tensor& x) {
  if (op_ == "id") return x;
  if (op_ == "linear") return activate(act_, fc_->forward(x));
  // residual_m: x + fc2(act(fc1(LayerNorm(x)))), no activation after the sum.
  return x + fc2_->forward(activate(act_, fc1_->forward(ln_->forward(x))));
}

TrunkImpl::TrunkImpl(std::int64_t in, std::int64_t features, std::string act, InitStream& init)
    : act_(std::move(act)) {
  fc_ = register_module("fc", plain_linear(in, features, init));
  ln_ = register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({features})));
}

torch::Tensor TrunkImpl::forward(const torch::Tensor& x) { return activate(act_, ln_->forward(fc_->forward(x))); }

MlpImpl::MlpImpl(std::int64_t in, std::int64_t hidden, const MlpArch& arch, InitStream& init)
    : first_act_(arch.layer0_act) {
  first_ = register_module("0", SwitchLinear(in, hidden, arch.spectral, init));
  for (std::size_t l = 0; l < arch.ops.size(); ++l)
    layers_.push_back(register_module(std::to_string(l + 1),
                                      SearchLayer(arch.ops[l], arch.acts[l], hidden, arch.spectral, init)));
}

torch::Tensor MlpImpl::forward(torch::Tensor x) {
  x = activate(first_act_, first_->forward(x));
  for (auto& l : layers_) x = l->forward(x);
  return x;
}

ActorImpl::ActorImpl(std::int64_t obs_dim, std::int64_t action_dim, std::int64_t hidden,
                     const MlpArch& arch, InitStream& init) {
  trunk_ = register_module("trunk", Trunk(obs_dim, arch.feature_dim, arch.trunk_act, init));
  policy_ = register_module("policy", Mlp(arch.feature_dim, hidden, arch, init));
  head_ = register_module("head", plain_linear(hidden, action_dim, init));
}

torch::Tensor ActorImpl::forward(const torch::Tensor& obs) {
  return torch::tanh(head_->forward(policy_->forward(trunk_->forward(obs))));
}

CriticImpl::CriticImpl(std::int64_t obs_dim, std::int64_t action_dim, std::int64_t hidden,
                       const RlArch& arch, InitStream& init) {
  trunk_ = register_module("trunk", Trunk(obs_dim, arch.q1.feature_dim, arch.q1.trunk_act, init));
  q1_ = register_module("Q1", Mlp(arch.q1.feature_dim + action_dim, hidden, arch.q1, init));
  q1_head_ = register_module("Q1_head", plain_linear(hidden, 1, init));
  q2_ = register_module("Q2", Mlp(arch.q2.feature_dim + action_dim, hidden, arch.q2, init));
  q2_head_ = register_module("Q2_head", plain_linear(hidden, 1, init));
}

std::pair<torch::Tensor, torch::Tensor> CriticImpl::forward(const torch::Tensor& obs, const torch::Tensor& action) {
  const torch::Tensor h = torch::cat({trunk_->forward(obs), action}, -1);
  return {q1_head_->forward(q1_->forward(h)), q2_head_->forward(q2_->forward(h))};
}

SwitchConvImpl::SwitchConvImpl(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                               std::int64_t padding, std::int64_t groups, bool spectral_on, InitStream& init)
    : spectral(spectral_on) {
  sn = register_module("sn", gan::SNConv2d(gan::SNConv2dOptions(in, out, kernel)
                                               .stride(stride)
                                               .padding(padding)
                                               .groups(groups)
                                               .seed(init.next_seed())
                                               .style(gan::SpectralStyle::Parametrization)
                                               .init_iterations(spectral ? gan::kReleasedRlSwitchedOnInitIterations
                                                                         : gan::kParametrizationInitIterations)));
  torch::NoGradGuard ng;
  if (!(spectral && init.sn_init_quirk())) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(init.next_seed());
    const std::int64_t cols = sn->weight_orig.numel() / out;
    // torch.nn.init.orthogonal_(w, gain=calculate_gain('relu')) on the (out, in/groups*k*k) view.
    sn->weight_orig.copy_((orthogonal(out, cols, gen) * std::sqrt(2.0)).view(sn->weight_orig.sizes()));
  }
  sn->bias.zero_();
}

torch::Tensor SwitchConvImpl::forward(const torch::Tensor& x) {
  if (spectral) return sn->forward(x);
  const auto& o = sn->options();
  return torch::conv2d(x, sn->weight_orig, sn->bias, {o.stride(), o.stride()}, {o.padding(), o.padding()}, {1, 1},
                       o.groups());
}

ConvLayerImpl::ConvLayerImpl(const std::string& op, const std::string& act, std::int64_t c, bool spectral,
                             InitStream& init)
    : op_(op), act_(act) {
  if (op == "id") return;
  const auto us = op.rfind('_');
  const std::int64_t k = us == std::string::npos ? 0 : std::stoll(op.substr(us + 1));
  if (k != 3 && k != 5 && k != 7) throw std::invalid_argument("unknown conv op '" + op + "'");
  const std::int64_t pad = k / 2;
  const std::string kind = op.substr(0, us);
  if (kind == "conv") {
    conv_ = register_module("conv", SwitchConv(c, c, k, 1, pad, 1, spectral, init));
  } else if (kind == "residual") {
    conv1_ = register_module("conv1", SwitchConv(c, c, k, 1, pad, 1, spectral, init));
    conv2_ = register_module("conv2", SwitchConv(c, c, k, 1, pad, 1, spectral, init));
  } else if (kind == "sep_conv") {
    conv1_ = register_module("conv1", SwitchConv(c, c, k, 1, pad, c, spectral, init));
    conv2_ = register_module("conv2", SwitchConv(c, c, 1, 1, 0, 1, spectral, init));
  } else {
    throw std::invalid_argument("unknown conv op '" + op + "'");
  }
}

torch::Tensor ConvLayerImpl::forward(const torch::Tensor& x) {
  if (op_ == "id") return x;
  if (conv_) return activate(act_, conv_->forward(x));
  if (op_.compare(0, 8, "residual") == 0)
    return activate(act_, x + conv2_->forward(activate(act_, conv1_->forward(x))));
  return activate(act_, conv2_->forward(conv1_->forward(x)));
}

EncoderImpl::EncoderImpl(std::int64_t in_channels, const EncoderArch& arch, InitStream& init)
    : first_act_(arch.acts.at(0)) {
  convnet_ = register_module("convnet", std::make_shared<torch::nn::Module>());
  first_ = convnet_->register_module("0", SwitchConv(in_channels, kChannels, 3, 2, 0, 1, arch.spectral, init));
  for (std::size_t l = 0; l < arch.ops.size(); ++l)
    layers_.push_back(convnet_->register_module(
        std::to_string(l + 1), ConvLayer(arch.ops[l], arch.acts.at(l + 1), kChannels, arch.spectral, init)));
}

torch::Tensor EncoderImpl::forward(const torch::Tensor& obs) {
  torch::Tensor x = obs.to(torch::kFloat) / 255.0 - 0.5;
  x = activate(first_act_, first_->forward(x));
  for (auto& l : layers_) x = l->forward(x);
  return x.flatten(1);
}

std::int64_t EncoderImpl::repr_dim(std::int64_t s) {
  const std::int64_t side = (s - 3) / 2 + 1;
  return kChannels * side * side;
}

AgentNetsImpl::AgentNetsImpl(std::int64_t obs_dim, std::int64_t action_dim, std::int64_t hidden,
                             const RlArch& arch, InitStream& init, std::int64_t pixel_channels) {
  if (arch.pixels) {
    if (pixel_channels < 1) throw std::logic_error("rl nets: pixel input needs the stacked channel count");
    encoder = register_module("encoder", Encoder(pixel_channels, arch.encoder, init));
  }
  actor = register_module("actor", Actor(obs_dim, action_dim, hidden, arch.actor, init));
  critic = register_module("critic", Critic(obs_dim, action_dim, hidden, arch, init));
}

TargetNetsImpl::TargetNetsImpl(Critic critic_copy) { critic = register_module("critic", std::move(critic_copy)); }

}  // namespace pbtnas::rl
