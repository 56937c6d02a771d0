// TorchScriptFeatures: a feature network from a TorchScript file (features.hpp).
#include "pbtnas/tasks/gan/features.hpp"

#include <torch/script.h>

#include <filesystem>
#include <stdexcept>

#include "gan_features_internal.hpp"
#include "pbtnas/tasks/node_cache.hpp"

namespace pbtnas::gan {

using detail::error_message;
using detail::shape_str;
namespace fs = std::filesystem;

struct TorchScriptFeatures::Impl {
  torch::jit::Module module;
};

TorchScriptFeatures::TorchScriptFeatures(const std::string& path, torch::Device device)
    : impl_(std::make_unique<Impl>()), path_(path), device_(device) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw std::runtime_error(
        "torchscript features: " + path +
        " does not exist; set gan.features.torchscript to a file exported with "
        "jobs/tools/export_inception.py, or remove the key to use the built-in classifier "
        "features");
  try {
    impl_->module = torch::jit::load(path, device);
  } catch (const std::exception& e) {
    throw std::runtime_error("torchscript features: cannot load " + path +
                             " as a TorchScript module (is it a file saved with "
                             "torch.jit.save?): " +
                             error_message(e));
  }
  impl_->module.to(device);
  impl_->module.eval();
  // Probe: validates the outputs and learns D (and K); feature_dim_ == 0 means "not known yet".
  const auto [feat, logits] =
      run(torch::zeros({2, 3, 32, 32}, torch::TensorOptions().dtype(torch::kFloat32).device(device)));
  feature_dim_ = feat.size(1);
  num_logits_ = logits.defined() ? logits.size(1) : 0;
}

TorchScriptFeatures::~TorchScriptFeatures() = default;

torch::Tensor TorchScriptFeatures::to_pixel_values(const torch::Tensor& images,
                                                   torch::Device device) {
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3))
    throw std::invalid_argument(
        "torchscript features: expected N x C x H x W images with C = 1 or 3, got " +
        shape_str(images));
  torch::Tensor x =
      images.to(device, torch::kFloat32).mul(127.5).add_(127.5).clamp_(0.0, 255.0).round_();
  if (x.size(1) == 1) x = x.expand({-1, 3, -1, -1}).contiguous();
  return x;
}

std::pair<torch::Tensor, torch::Tensor> TorchScriptFeatures::run(const torch::Tensor& pixels) const {
  torch::NoGradGuard no_grad;
  const std::int64_t n = pixels.size(0);
  const std::string what = "torchscript features: " + path_ + ": ";
  const std::string contract =
      "forward(x: N x 3 x H x W float in [0, 255]) must return a tensor N x D (features) or a "
      "tuple (features N x D, logits N x K)";
  c10::IValue out;
  try {
    out = impl_->module.forward({pixels});
  } catch (const std::exception& e) {
    throw std::runtime_error(what + "forward failed on a " + shape_str(pixels) +
                             " float input in [0, 255] (" + contract + "): " + error_message(e));
  }
  torch::Tensor feat, logits;
  if (out.isTensor()) {
    feat = out.toTensor();
  } else if (out.isTuple()) {
    const auto& elems = out.toTuple()->elements();
    if (elems.size() != 2 || !elems[0].isTensor() || !elems[1].isTensor())
      throw std::runtime_error(what + "forward returned a tuple of " +
                               std::to_string(elems.size()) +
                               " elements that are not two tensors; " + contract);
    feat = elems[0].toTensor();
    logits = elems[1].toTensor();
  } else {
    throw std::runtime_error(what + "forward returned a " + out.tagKind() + "; " + contract);
  }
  auto check = [&](const torch::Tensor& t, const char* name, std::int64_t known) {
    if (t.dim() != 2 || t.size(0) != n || t.size(1) < 1 || !t.is_floating_point())
      throw std::runtime_error(what + "expected " + name + " as a floating N x " +
                               (known > 0 ? std::to_string(known) : std::string("D")) +
                               " tensor with N = " + std::to_string(n) + ", got " +
                               shape_str(t) + " (" + std::string(c10::toString(t.scalar_type())) +
                               "); " + contract);
    if (known > 0 && t.size(1) != known)
      throw std::runtime_error(what + "expected " + name + " with " + std::to_string(known) +
                               " columns (as on the first call), got " + shape_str(t) + "; " +
                               contract);
  };
  check(feat, "features", feature_dim_);
  if (logits.defined()) {
    if (feature_dim_ > 0 && num_logits_ == 0)
      throw std::runtime_error(what + "forward returned logits but gave none on the first call; " +
                               contract);
    check(logits, "logits", num_logits_);
  } else if (num_logits_ > 0) {
    throw std::runtime_error(what + "forward returned no logits but gave " +
                             std::to_string(num_logits_) + " on the first call; " + contract);
  }
  return {feat.detach(), logits.defined() ? logits.detach() : logits};
}

torch::Tensor TorchScriptFeatures::features(const torch::Tensor& images) const {
  return features_and_logits(images).first;
}

std::pair<torch::Tensor, torch::Tensor> TorchScriptFeatures::features_and_logits(
    const torch::Tensor& images) const {
  torch::NoGradGuard no_grad;
  return run(to_pixel_values(images, device_));
}

std::string TorchScriptFeatures::describe() const {
  return "torchscript " + path_ + " (" + std::to_string(feature_dim_) + "-d, " +
         (num_logits_ > 0 ? "logits " + std::to_string(num_logits_) : std::string("no logits")) +
         ")";
}

std::string TorchScriptFeatures::cache_key() const { return describe() + " " + cache_fingerprint({}, {path_}); }

}  // namespace pbtnas::gan
