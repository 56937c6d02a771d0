#include "pbtnas/tasks/gan/spectral_norm.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace pbtnas::gan {
namespace {

// torch.nn.functional.normalize(x, dim=0, eps=eps) for a vector.
torch::Tensor normalize(const torch::Tensor& x, double eps) {
  return x / x.norm().clamp_min(eps);
}

torch::Tensor matrix_of(const torch::Tensor& weight) {
  return weight.reshape({weight.size(0), -1});
}

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("spectral norm: " + what);
}

}  // namespace

void spectral_power_iteration(const torch::Tensor& weight, torch::Tensor& u, torch::Tensor& v,
                              double eps, SpectralStyle style) {
  require(weight.defined() && weight.dim() >= 2,
          "the weight must be a defined tensor with >= 2 dims");
  const torch::Tensor w = matrix_of(weight);
  require(u.dim() == 1 && u.size(0) == w.size(0) && v.dim() == 1 && v.size(0) == w.size(1),
          "u must have length " + std::to_string(w.size(0)) + " and v length " +
              std::to_string(w.size(1)) + " for a weight of shape " +
              c10::str(weight.sizes()));
  torch::NoGradGuard no_grad;
  if (style == SpectralStyle::Parametrization) {
    u.copy_(normalize(torch::mv(w, v), eps));
    v.copy_(normalize(torch::mv(w.t(), u), eps));
  } else {
    v.copy_(normalize(torch::mv(w.t(), u), eps));
    u.copy_(normalize(torch::mv(w, v), eps));
  }
}

torch::Tensor spectral_sigma(const torch::Tensor& weight, const torch::Tensor& u,
                             const torch::Tensor& v) {
  return torch::dot(u, torch::mv(matrix_of(weight), v));
}

SpectralNormImplBase::SpectralNormImplBase(std::vector<std::int64_t> weight_shape, bool with_bias,
                                           double eps, std::uint64_t seed, SpectralStyle style,
                                           int init_iterations)
    : eps_(eps),
      style_(style),
      init_iterations_(init_iterations >= 0 ? init_iterations
                                            : (style == SpectralStyle::Parametrization ? kParametrizationInitIterations : 0)) {
  require(weight_shape.size() >= 2, "the weight needs >= 2 dims");
  for (auto d : weight_shape) require(d >= 1, "every weight dimension must be >= 1");
  require(eps > 0.0 && std::isfinite(eps), "eps must be a positive finite number");
  std::int64_t fan_in = 1;
  for (std::size_t i = 1; i < weight_shape.size(); ++i) fan_in *= weight_shape[i];
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);

  torch::NoGradGuard no_grad;
  torch::Tensor w = torch::empty(weight_shape).uniform_(-bound, bound, gen);
  // PyTorch order: the layer's bias stays where it was, weight_orig is appended after it.
  if (with_bias)
    bias = register_parameter("bias", torch::empty({weight_shape[0]}).uniform_(-bound, bound, gen));
  weight_orig = register_parameter("weight_orig", w);
  weight_u = register_buffer("weight_u", torch::zeros({weight_shape[0]}));
  weight_v = register_buffer("weight_v", torch::zeros({fan_in}));
  init_vectors(gen);
}

void SpectralNormImplBase::init_vectors(at::Generator gen) {
  torch::NoGradGuard no_grad;
  const auto cpu = weight_u.options().device(torch::kCPU);
  torch::Tensor u = torch::empty({weight_u.size(0)}, cpu).normal_(0.0, 1.0, gen);
  torch::Tensor v = torch::empty({weight_v.size(0)}, cpu).normal_(0.0, 1.0, gen);
  weight_u.copy_(normalize(u, eps_));
  weight_v.copy_(normalize(v, eps_));
  for (int i = 0; i < init_iterations_; ++i) spectral_power_iteration(weight_orig, weight_u, weight_v, eps_, style_);
}

torch::Tensor SpectralNormImplBase::sigma() const {
  return spectral_sigma(weight_orig, weight_u, weight_v);
}

torch::Tensor SpectralNormImplBase::effective_weight() const { return weight_orig / sigma(); }

torch::Tensor SpectralNormImplBase::forward_weight() {
  if (!is_training()) return effective_weight();
  spectral_power_iteration(weight_orig, weight_u, weight_v, eps_, style_);
  // Clones, as PyTorch does: σ's graph must not see later in-place updates of the buffers
  // (e.g. D applied to real and fake batches before one backward).
  return weight_orig / spectral_sigma(weight_orig, weight_u.clone(), weight_v.clone());
}

SNConv2dImpl::SNConv2dImpl(SNConv2dOptions o)
    : SpectralNormImplBase({o.out_channels(), o.in_channels() / std::max<std::int64_t>(o.groups(), 1),
                            o.kernel_size(), o.kernel_size()},
                           o.bias(), o.eps(), o.seed(), o.style(), o.init_iterations()),
      options_(o) {
  require(o.groups() >= 1 && o.in_channels() % o.groups() == 0 && o.out_channels() % o.groups() == 0,
          "SNConv2d needs groups >= 1 dividing both channel counts");
  require(o.stride() >= 1 && o.dilation() >= 1 && o.padding() >= 0,
          "SNConv2d needs stride >= 1, dilation >= 1 and padding >= 0 (got stride " +
              std::to_string(o.stride()) + ", dilation " + std::to_string(o.dilation()) +
              ", padding " + std::to_string(o.padding()) + ")");
}

torch::Tensor SNConv2dImpl::forward(const torch::Tensor& x) {
  const auto& o = options_;
  return torch::conv2d(x, forward_weight(), bias, {o.stride(), o.stride()},
                       {o.padding(), o.padding()}, {o.dilation(), o.dilation()}, o.groups());
}

SNLinearImpl::SNLinearImpl(SNLinearOptions o)
    : SpectralNormImplBase({o.out_features(), o.in_features()}, o.bias(), o.eps(), o.seed(),
                           o.style(), o.init_iterations()),
      options_(o) {}

torch::Tensor SNLinearImpl::forward(const torch::Tensor& x) {
  return torch::linear(x, forward_weight(), bias);
}

}  // namespace pbtnas::gan
