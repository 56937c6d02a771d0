#pragma once
// Internal to the feature networks (src/tasks/gan_features_*.cpp): the built-in classifier's
// module and training entry points, and small formatting helpers. Not part of the public API.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "pbtnas/tasks/gan/features.hpp"

namespace pbtnas::gan::detail {

namespace F = torch::nn::functional;

// The message of a LibTorch error without its C++ backtrace.
inline std::string error_message(const std::exception& e) {
  if (const auto* c10e = dynamic_cast<const c10::Error*>(&e)) return c10e->what_without_backtrace();
  return e.what();
}

inline std::string shape_str(const torch::Tensor& t) {
  std::string s;
  for (std::int64_t i = 0; i < t.dim(); ++i) s += (i ? " x " : "") + std::to_string(t.size(i));
  return t.dim() == 0 ? std::string("a scalar") : s;
}

inline std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

inline std::string general(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}


}  // namespace pbtnas::gan::detail

namespace pbtnas::gan {


inline constexpr std::int64_t kMetaMagic = 0x70627466;  // "pbtf"
inline constexpr int kWidths[6] = {32, 32, 64, 64, 128, 128};
inline constexpr std::int64_t kForwardChunk = 500;  // images per forward pass in features()


struct ClassifierFeatures::Net : torch::nn::Module {
  Net(int channels, int n_classes) {
    int in = channels;
    for (int i = 0; i < 6; ++i) {
      convs.push_back(register_module(
          "conv" + std::to_string(i),
          torch::nn::Conv2d(torch::nn::Conv2dOptions(in, kWidths[i], 3).padding(1).bias(false))));
      bns.push_back(
          register_module("bn" + std::to_string(i), torch::nn::BatchNorm2d(kWidths[i])));
      in = kWidths[i];
    }
    head = register_module("head", torch::nn::Linear(kClassifierFeatureDim, n_classes));
    meta = register_buffer("meta", torch::zeros({5}, torch::kInt64));
    check_accuracy = register_buffer("check_accuracy", torch::zeros({1}, torch::kFloat64));
  }

  torch::Tensor features(torch::Tensor x) {
    for (int i = 0; i < 6; ++i) {
      x = bns[i]->forward(convs[i]->forward(x)).relu_();
      if (i == 1 || i == 3)
        x = torch::nn::functional::max_pool2d(x, torch::nn::functional::MaxPool2dFuncOptions(2));
    }
    return x.mean({2, 3});
  }

  std::vector<torch::nn::Conv2d> convs;
  std::vector<torch::nn::BatchNorm2d> bns;
  torch::nn::Linear head{nullptr};
  torch::Tensor meta, check_accuracy;
};

namespace detail {

using Net = ClassifierFeatures::Net;

// Checks the shapes load_or_train / fingerprint accept; returns the images as contiguous CPU
// float32 and the labels as contiguous CPU int64.
std::pair<torch::Tensor, torch::Tensor> checked_data(const torch::Tensor& images,
                                                     const torch::Tensor& labels, int n_classes);
// FNV-1a 64 over the recipe, the shape, the quantised pixels and the labels (features.hpp).
std::uint64_t fingerprint_of(const torch::Tensor& x, const torch::Tensor& y, int n_classes,
                             const ClassifierFeaturesConfig& cfg);
void validate_config(const ClassifierFeaturesConfig& cfg);
// Trains a fresh Net by the fixed recipe; stores the metadata and check accuracy in its buffers.
std::shared_ptr<Net> train_net(const ClassifierFeaturesConfig& cfg, const torch::Tensor& x,
                               const torch::Tensor& y, int n_classes, std::uint64_t fingerprint,
                               torch::Device device, const ClassifierFeatures::Log& log);

}  // namespace detail
}  // namespace pbtnas::gan
