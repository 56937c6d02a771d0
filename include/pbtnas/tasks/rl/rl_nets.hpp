#pragma once
// The searchable actor and twin critic of the RL task on state input (docs/rl.md, "Networks";
// docs/algorithm.md, "RL search space"). Tensor names (the gene prefixes of rl_space.hpp):
//   actor.trunk.{fc,ln}.*          Linear(obs -> f_a), LayerNorm, trunk activation
//   actor.policy.0.fc.*            Linear(f_a -> H), spectral norm switchable, activation
//   actor.policy.{1,2,3}.*         searchable: id | linear (fc) | residual_m (ln, fc1, fc2)
//   actor.head.*                   Linear(H -> |A|), tanh
//   critic.trunk.{fc,ln}.*         shared trunk; the action is concatenated after it
//   critic.Q{1,2}.{0..3}.*         as the actor's policy layers (Q.0: Linear(f_c + |A| -> H))
//   critic.Q{1,2}_head.*           Linear(H -> 1)
//   encoder.convnet.0.sn.*         pixels only: Conv(3K -> 32, 3x3, stride 2, no padding), activation
//   encoder.convnet.{1,2,3}.*      searchable: id | conv_k (conv) | residual_k (conv1, conv2) |
//                                  sep_conv_k (conv1 depthwise, conv2 1x1), 32 channels
// Spectral norm is registered on every policy/Q layer's linear and every encoder conv (weight_orig, weight_u,
// weight_v) whatever the norm gene says; the gene only switches it on in the forward pass.
#include <cstdint>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "pbtnas/tasks/gan/spectral_norm.hpp"
#include "pbtnas/tasks/rl/rl_space.hpp"

namespace pbtnas::rl {

// Draws the initial tensors of one network in construction order from one seed.
class InitStream {
 public:
  InitStream(std::uint64_t seed, bool sn_init_quirk) : seed_(seed), quirk_(sn_init_quirk) {}
  std::uint64_t next_seed();
  bool sn_init_quirk() const { return quirk_; }

 private:
  std::uint64_t seed_;
  std::uint64_t count_ = 0;
  bool quirk_;
};

// An orthogonal (rows x cols) matrix with gain 1 drawn from `gen` (torch.nn.init.orthogonal_).
torch::Tensor orthogonal(std::int64_t rows, std::int64_t cols, at::Generator gen);

torch::Tensor activate(const std::string& name, const torch::Tensor& x);

// A Linear with spectral norm registered and switched on or off (docs/rl.md).
class SwitchLinearImpl : public torch::nn::Module {
 public:
  SwitchLinearImpl(std::int64_t in, std::int64_t out, bool spectral, InitStream& init);
  torch::Tensor forward(const torch::Tensor& x);
  gan::SNLinear sn{nullptr};
  bool spectral;
};
TORCH_MODULE(SwitchLinear);

// A plain Linear (trunks and heads): orthogonal weight, zero bias.
torch::nn::Linear plain_linear(std::int64_t in, std::int64_t out, InitStream& init);

// One searchable layer H -> H.
class SearchLayerImpl : public torch::nn::Module {
 public:
  SearchLayerImpl(const std::string& op, const std::string& act, std::int64_t hidden, bool spectral,
                  InitStream& init);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::string op_, act_;
  SwitchLinear fc_{nullptr}, fc1_{nullptr}, fc2_{nullptr};
  torch::nn::LayerNorm ln_{nullptr};
};
TORCH_MODULE(SearchLayer);

// Linear(in -> f) -> LayerNorm -> activation.
class TrunkImpl : public torch::nn::Module {
 public:
  TrunkImpl(std::int64_t in, std::int64_t features, std::string act, InitStream& init);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear fc_{nullptr};
  torch::nn::LayerNorm ln_{nullptr};
  std::string act_;
};
TORCH_MODULE(Trunk);

// Layer 0 (in -> H, switchable SN, activation), layers 1..3; the head is separate.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(std::int64_t in, std::int64_t hidden, const MlpArch& arch, InitStream& init);
  torch::Tensor forward(torch::Tensor x);

 private:
  SwitchLinear first_{nullptr};
  std::string first_act_;
  std::vector<SearchLayer> layers_;
};
TORCH_MODULE(Mlp);

class ActorImpl : public torch::nn::Module {
 public:
  ActorImpl(std::int64_t obs_dim, std::int64_t action_dim, std::int64_t hidden, const MlpArch& arch,
            InitStream& init);
  torch::Tensor forward(const torch::Tensor& obs);  // mu = tanh(head(...)), in (-1, 1)

 private:
  Trunk trunk_{nullptr};
  Mlp policy_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(Actor);

class CriticImpl : public torch::nn::Module {
 public:
  CriticImpl(std::int64_t obs_dim, std::int64_t action_dim, std::int64_t hidden, const RlArch& arch,
             InitStream& init);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& obs, const torch::Tensor& action);

 private:
  Trunk trunk_{nullptr};
  Mlp q1_{nullptr}, q2_{nullptr};
  torch::nn::Linear q1_head_{nullptr}, q2_head_{nullptr};
};
TORCH_MODULE(Critic);

// A Conv2d with spectral norm registered and switched on or off; orthogonal init with gain
// sqrt(2) (the released conv init), with the sn_init_quirk as SwitchLinear.
class SwitchConvImpl : public torch::nn::Module {
 public:
  SwitchConvImpl(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, std::int64_t padding,
                 std::int64_t groups, bool spectral, InitStream& init);
  torch::Tensor forward(const torch::Tensor& x);
  gan::SNConv2d sn{nullptr};
  bool spectral;
};
TORCH_MODULE(SwitchConv);

// One searchable encoder layer, 32 -> 32 channels, same spatial size (the released conv ops):
//   conv_k:     act(conv_k(x))
//   residual_k: act(x + conv2_k(act(conv1_k(x))))
//   sep_conv_k: act(conv2_1x1(conv1_k_depthwise(x)))
class ConvLayerImpl : public torch::nn::Module {
 public:
  ConvLayerImpl(const std::string& op, const std::string& act, std::int64_t channels, bool spectral,
                InitStream& init);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::string op_, act_;
  SwitchConv conv_{nullptr}, conv1_{nullptr}, conv2_{nullptr};
};
TORCH_MODULE(ConvLayer);

// DrQ-v2's encoder with the searchable layers of rl_normact: obs / 255 - 0.5, then convnet.0
// (3x3, stride 2, no padding, to 32 channels) and layers 1-3; the output is flattened.
class EncoderImpl : public torch::nn::Module {
 public:
  static constexpr std::int64_t kChannels = 32;
  EncoderImpl(std::int64_t in_channels, const EncoderArch& arch, InitStream& init);
  torch::Tensor forward(const torch::Tensor& obs);  // [B, C, S, S] (uint8 or float) -> [B, repr_dim]
  // 32 * ((S - 3) / 2 + 1)^2: 53792 for S = 84.
  static std::int64_t repr_dim(std::int64_t image_size);

 private:
  std::shared_ptr<torch::nn::Module> convnet_;
  SwitchConv first_{nullptr};
  std::string first_act_;
  std::vector<ConvLayer> layers_;
};
TORCH_MODULE(Encoder);

// Member::model: {encoder (pixels only), actor, critic}; Member::average: {critic} (the target
// critic). obs_dim: the state size, or the encoder's repr_dim with pixels.
class AgentNetsImpl : public torch::nn::Module {
 public:
  AgentNetsImpl(std::int64_t obs_dim, std::int64_t action_dim, std::int64_t hidden, const RlArch& arch,
                InitStream& init, std::int64_t pixel_channels = 0);
  Encoder encoder{nullptr};  // pixels only
  Actor actor{nullptr};
  Critic critic{nullptr};
};
TORCH_MODULE(AgentNets);

class TargetNetsImpl : public torch::nn::Module {
 public:
  explicit TargetNetsImpl(Critic critic_copy);
  Critic critic{nullptr};
};
TORCH_MODULE(TargetNets);

}  // namespace pbtnas::rl
