#pragma once
// Spectral normalisation (Miyato et al. 2018) for the GAN discriminator (docs/algorithm.md, "GAN
// training recipe"),
// reproducing PyTorch's old-style `torch.nn.utils.spectral_norm` (LibTorch has no C++ helper).
//
// State (the names travel with the state dict, so shrink-perturb and mixing see them):
//   <module>.bias         parameter (when enabled), registered first as in PyTorch
//   <module>.weight_orig  parameter, the unnormalised weight W
//   <module>.weight_u     buffer, left singular vector estimate u (length out)
//   <module>.weight_v     buffer, right singular vector estimate v (length in*kh*kw)
// Forward: W_mat = weight_orig.reshape(out, -1). In training mode one power iteration updates the
// buffers in place without gradient, where normalize(x) = x / max(‖x‖₂, eps), eps = 1e-12. In eval
// mode u, v are left untouched. σ = uᵀ W_mat v (u, v treated as constants; the gradient flows
// through W_mat as in PyTorch) and the effective weight is weight_orig / σ.
//
// Two PyTorch flavours differ in two details (docs/algorithm.md, "Spectral norm"):
//   SpectralStyle::Hook (torch.nn.utils.spectral_norm, the GAN discriminator's): u, v are drawn at
//     construction and used as drawn; an iteration is v <- normalize(W_matᵀ u), then
//     u <- normalize(W_mat v).
//   SpectralStyle::Parametrization (torch.nn.utils.parametrizations.spectral_norm, the RL
//     networks'): after the draw, 15 power iterations run on the weight the layer is built with;
//     an iteration is u <- normalize(W_mat v), then v <- normalize(W_matᵀ u).
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace pbtnas::gan {

enum class SpectralStyle { Hook, Parametrization };
// Power iterations run at construction by SpectralStyle::Parametrization: 15 in PyTorch's
// _SpectralNorm constructor. The released RL networks add one when register_parametrization checks
// the layer's forward and one when their weight init reads `m.weight` (both in training mode, both
// only where the norm is switched on): 17 for a switched-on layer, 15 for a switched-off one
// (docs/algorithm.md, "Spectral norm: two PyTorch flavours").
inline constexpr int kParametrizationInitIterations = 15;
inline constexpr int kReleasedRlSwitchedOnInitIterations = 17;

// One power iteration on the (out, -1) matrix of `weight`, writing u and v in place (no grad).
void spectral_power_iteration(const torch::Tensor& weight, torch::Tensor& u, torch::Tensor& v,
                              double eps = 1e-12, SpectralStyle style = SpectralStyle::Hook);
// σ = uᵀ W_mat v with W_mat = weight.reshape(out, -1) (differentiable in `weight`).
torch::Tensor spectral_sigma(const torch::Tensor& weight, const torch::Tensor& u,
                             const torch::Tensor& v);

// Common state and logic of SNConv2d and SNLinear.
class SpectralNormImplBase : public torch::nn::Module {
 public:
  torch::Tensor weight_orig;
  torch::Tensor bias;  // undefined when the layer has no bias
  torch::Tensor weight_u;
  torch::Tensor weight_v;

  // σ from the current u, v (no power iteration, no buffer change).
  torch::Tensor sigma() const;
  // weight_orig / sigma() (no power iteration, no buffer change).
  torch::Tensor effective_weight() const;
  // Redraws u then v from N(0, 1) with `gen` (a CPU generator) and normalises them, as PyTorch
  // does when it registers the hook. Works whatever device the buffers are on.
  // Then runs the init_iterations of the options (Parametrization: 15 unless set) on the current
  // weight_orig.
  void init_vectors(at::Generator gen);
  double eps() const { return eps_; }
  SpectralStyle style() const { return style_; }

 protected:
  // Registers (bias,) weight_orig, weight_u, weight_v. weight_orig and bias get PyTorch's default
  // layer init U(-1/sqrt(fan_in), 1/sqrt(fan_in)), then u and v are drawn, all from one local CPU
  // generator seeded with `seed` (the global RNG is never used).
  SpectralNormImplBase(std::vector<std::int64_t> weight_shape, bool with_bias, double eps,
                       std::uint64_t seed, SpectralStyle style, int init_iterations);
  // The weight to use in forward(): one power iteration first when is_training().
  torch::Tensor forward_weight();

 private:
  double eps_;
  SpectralStyle style_;
  int init_iterations_;
};

struct SNConv2dOptions {
  SNConv2dOptions(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  TORCH_ARG(std::int64_t, in_channels);
  TORCH_ARG(std::int64_t, out_channels);
  TORCH_ARG(std::int64_t, kernel_size);  // square kernel
  TORCH_ARG(std::int64_t, stride) = 1;
  TORCH_ARG(std::int64_t, padding) = 0;
  TORCH_ARG(std::int64_t, dilation) = 1;
  TORCH_ARG(std::int64_t, groups) = 1;  // in_channels: depthwise (weight [out, in / groups, k, k])
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(double, eps) = 1e-12;
  TORCH_ARG(std::uint64_t, seed) = 0;  // local generator for the initial weights and u, v
  TORCH_ARG(SpectralStyle, style) = SpectralStyle::Hook;
  TORCH_ARG(int, init_iterations) = -1;  // -1: the style's (Hook 0, Parametrization 15)
};

class SNConv2dImpl : public SpectralNormImplBase {
 public:
  explicit SNConv2dImpl(SNConv2dOptions options);
  torch::Tensor forward(const torch::Tensor& x);  // N x in x H x W -> N x out x H' x W'
  const SNConv2dOptions& options() const { return options_; }

 private:
  SNConv2dOptions options_;
};
TORCH_MODULE(SNConv2d);

struct SNLinearOptions {
  SNLinearOptions(std::int64_t in_features, std::int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  TORCH_ARG(std::int64_t, in_features);
  TORCH_ARG(std::int64_t, out_features);
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(double, eps) = 1e-12;
  TORCH_ARG(std::uint64_t, seed) = 0;
  TORCH_ARG(SpectralStyle, style) = SpectralStyle::Hook;
  TORCH_ARG(int, init_iterations) = -1;  // -1: the style's (Hook 0, Parametrization 15)
};

class SNLinearImpl : public SpectralNormImplBase {
 public:
  explicit SNLinearImpl(SNLinearOptions options);
  torch::Tensor forward(const torch::Tensor& x);  // ... x in -> ... x out
  const SNLinearOptions& options() const { return options_; }

 private:
  SNLinearOptions options_;
};
TORCH_MODULE(SNLinear);

}  // namespace pbtnas::gan
