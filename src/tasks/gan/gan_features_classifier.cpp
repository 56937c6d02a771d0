// ClassifierFeatures: the built-in feature classifier's recipe, training and inference
// (features.hpp); its cache file is handled in gan_features_cache.cpp.
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "gan_features_internal.hpp"
#include "pbtnas/core/hash.hpp"
#include "pbtnas/core/seed.hpp"
#include "pbtnas/nn/batch_norm_init.hpp"
#include "pbtnas/tasks/node_cache.hpp"
#include "pbtnas/util/clock.hpp"

namespace pbtnas::gan {
namespace detail {

// Checks the shapes load_or_train / fingerprint accept; returns the images as contiguous CPU
// float32 and the labels as contiguous CPU int64.
std::pair<torch::Tensor, torch::Tensor> checked_data(const torch::Tensor& images,
                                                     const torch::Tensor& labels, int n_classes) {
  const std::string what = "classifier features: ";
  if (!images.defined() || images.dim() != 4 || images.size(1) < 1 || images.size(2) < 8 ||
      images.size(3) != images.size(2) || !images.is_floating_point())
    throw std::invalid_argument(what + "expected N x C x S x S float images in [-1, 1] (S >= 8: 32, or 48 for STL-10), got " +
                                (images.defined() ? shape_str(images) : "an undefined tensor"));
  if (!labels.defined() || labels.dim() != 1 || labels.size(0) != images.size(0) ||
      labels.is_floating_point() || labels.is_complex())
    throw std::invalid_argument(what + "expected " + std::to_string(images.size(0)) +
                                " integer labels (one per image), got " +
                                (labels.defined() ? shape_str(labels) : "an undefined tensor"));
  if (n_classes < 2)
    throw std::invalid_argument(what + "n_classes must be >= 2, got " + std::to_string(n_classes));
  torch::Tensor x = images.to(torch::kCPU, torch::kFloat32).contiguous();
  torch::Tensor y = labels.to(torch::kCPU, torch::kInt64).contiguous();
  return {x, y};
}

std::uint64_t fingerprint_of(const torch::Tensor& x, const torch::Tensor& y, int n_classes,
                             const ClassifierFeaturesConfig& cfg) {
  Fnv1a f;
  f.i64(kClassifierRecipeVersion);
  f.i64(cfg.epochs);
  f.i64(cfg.batch_size);
  std::uint64_t lr_bits = 0;
  std::memcpy(&lr_bits, &cfg.lr, sizeof lr_bits);
  f.u64(lr_bits);
  f.u64(cfg.seed);
  f.i64(n_classes);
  f.i64(x.dim());
  for (std::int64_t d = 0; d < x.dim(); ++d) f.i64(x.size(d));
  const float* p = x.data_ptr<float>();
  const std::int64_t n = x.numel();
  std::uint64_t h = f.h;
  for (std::int64_t i = 0; i < n; ++i) {  // FNV-1a over the quantised bytes, inlined
    const float v = p[i] * 127.5f + 127.5f;
    const std::uint8_t q =
        !(v > 0.0f) ? 0 : (v >= 255.0f ? 255 : static_cast<std::uint8_t>(v + 0.5f));
    h = (h ^ q) * Fnv1a::kPrime;
  }
  f.h = h;
  const std::int64_t* l = y.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < y.numel(); ++i) f.i64(l[i]);
  return f.h;
}

void validate_config(const ClassifierFeaturesConfig& cfg) {
  if (cfg.epochs < 1 || cfg.batch_size < 1 || !(cfg.lr > 0.0) || !std::isfinite(cfg.lr))
    throw std::invalid_argument(
        "classifier features: epochs and batch_size must be >= 1 and lr a positive number (got " +
        std::to_string(cfg.epochs) + ", " + std::to_string(cfg.batch_size) + ", " + general(cfg.lr) + ")");
}

void init_net(Net& net, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  at::Generator gen =
      at::make_generator<at::CPUGeneratorImpl>(derive_seed(seed, 0, 0, Purpose::FreshInit));
  for (std::size_t i = 0; i < net.convs.size(); ++i) {
    torch::Tensor& w = net.convs[i]->weight;
    const double fan_in = static_cast<double>(w.size(1) * w.size(2) * w.size(3));
    const double bound = std::sqrt(6.0 / fan_in);
    w.uniform_(-bound, bound, gen);
    init_batch_norm(*net.bns[i], [](torch::Tensor& weight) { weight.fill_(1.0); });
  }
  const double bound = 1.0 / std::sqrt(static_cast<double>(kClassifierFeatureDim));
  net.head->weight.uniform_(-bound, bound, gen);
  net.head->bias.uniform_(-bound, bound, gen);
}

// Accuracy of the net (eval mode) on images[begin, end).
double accuracy(Net& net, const torch::Tensor& x, const torch::Tensor& y, std::int64_t begin,
                std::int64_t end, torch::Device device) {
  torch::NoGradGuard no_grad;
  net.eval();
  std::int64_t correct = 0;
  for (std::int64_t b = begin; b < end; b += kForwardChunk) {
    const std::int64_t e = std::min(end, b + kForwardChunk);
    const torch::Tensor logits = net.head->forward(net.features(x.slice(0, b, e).to(device)));
    correct += logits.argmax(1).to(torch::kCPU).eq(y.slice(0, b, e)).sum().item<std::int64_t>();
  }
  return end > begin ? static_cast<double>(correct) / static_cast<double>(end - begin) : 0.0;
}

std::shared_ptr<Net> train_net(const ClassifierFeaturesConfig& cfg, const torch::Tensor& x,
                               const torch::Tensor& y, int n_classes, std::uint64_t fingerprint,
                               torch::Device device, const ClassifierFeatures::Log& log) {
  const auto t0 = Clock::now();
  const std::int64_t n = x.size(0);
  const std::int64_t n_check = std::min<std::int64_t>(5000, n / 10);
  const std::int64_t n_train = n - n_check;
  const int channels = static_cast<int>(x.size(1));
  if (log)
    log("classifier features: training a " + std::to_string(channels) + "-channel " +
        std::to_string(n_classes) + "-class CNN on " + std::to_string(n_train) + " images (" +
        std::to_string(n_check) + " held out), " + std::to_string(cfg.epochs) +
        " epochs, batch " + std::to_string(cfg.batch_size) + ", Adam lr " + general(cfg.lr) +
        ", on " + device.str());
  auto net = std::make_shared<Net>(channels, n_classes);
  init_net(*net, cfg.seed);
  net->to(device);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(cfg.lr));
  std::vector<std::int64_t> perm(static_cast<std::size_t>(n_train));
  double acc = 0.0;
  for (int e = 0; e < cfg.epochs; ++e) {
    std::iota(perm.begin(), perm.end(), std::int64_t{0});
    Rng rng(derive_seed(cfg.seed, e, 0, Purpose::Train));
    rng.shuffle(perm);
    net->train();
    double loss_sum = 0.0;
    for (std::int64_t b = 0; b < n_train; b += cfg.batch_size) {
      const std::int64_t count = std::min<std::int64_t>(cfg.batch_size, n_train - b);
      const torch::Tensor idx = torch::from_blob(perm.data() + b, {count}, torch::kInt64);
      const torch::Tensor xb = x.index_select(0, idx).to(device);
      const torch::Tensor yb = y.index_select(0, idx).to(device);
      opt.zero_grad();
      const torch::Tensor loss = F::cross_entropy(net->head->forward(net->features(xb)), yb);
      loss.backward();
      opt.step();
      const double value = loss.item<double>();
      if (!std::isfinite(value))
        throw std::runtime_error("classifier features: training diverged (loss " +
                                 std::to_string(value) + " in epoch " + std::to_string(e + 1) +
                                 "); check the images for extreme values");
      loss_sum += value * static_cast<double>(count);
    }
    acc = accuracy(*net, x, y, n_train, n, device);
    if (log)
      log("classifier features: epoch " + std::to_string(e + 1) + "/" +
          std::to_string(cfg.epochs) + ": train loss " +
          fixed(loss_sum / static_cast<double>(n_train), 4) + ", check accuracy " +
          fixed(acc, 4) + " (" + fixed(since(t0), 1) + " s)");
  }
  opt.zero_grad();
  net->eval();
  {
    torch::NoGradGuard no_grad;
    std::int64_t fp_bits = 0;
    std::memcpy(&fp_bits, &fingerprint, sizeof fp_bits);
    net->meta.copy_(torch::tensor({kMetaMagic, kClassifierRecipeVersion,
                                   static_cast<std::int64_t>(n_classes),
                                   static_cast<std::int64_t>(channels), fp_bits},
                                  torch::kInt64));
    net->check_accuracy.fill_(acc);
  }
  return net;
}

}  // namespace detail

using namespace detail;

ClassifierFeatures::ClassifierFeatures(std::shared_ptr<Net> net, int n_classes, int channels,
                                       int side, double check_accuracy, bool freshly_trained,
                                       std::string cache_path, torch::Device device)
    : net_(std::move(net)),
      n_classes_(n_classes),
      channels_(channels),
      side_(side),
      check_accuracy_(check_accuracy),
      freshly_trained_(freshly_trained),
      cache_path_(std::move(cache_path)),
      device_(device) {}

ClassifierFeatures::~ClassifierFeatures() = default;

std::pair<torch::Tensor, torch::Tensor> ClassifierFeatures::run(const torch::Tensor& images) const {
  if (images.dim() != 4 || images.size(1) != channels_ || images.size(2) != side_ ||
      images.size(3) != side_)
    throw std::invalid_argument("classifier features: expected N x " + std::to_string(channels_) + " x " +
                                std::to_string(side_) + " x " + std::to_string(side_) +
                                " images in [-1, 1], got " + shape_str(images));
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> feats, logits;
  const std::int64_t n = images.size(0);
  for (std::int64_t b = 0; b < n || (n == 0 && b == 0); b += kForwardChunk) {
    const torch::Tensor x =
        images.slice(0, b, std::min(n, b + kForwardChunk)).to(device_, torch::kFloat32);
    feats.push_back(net_->features(x));
    logits.push_back(net_->head->forward(feats.back()));
    if (n == 0) break;
  }
  if (feats.size() == 1) return {feats[0], logits[0]};
  return {torch::cat(feats, 0), torch::cat(logits, 0)};
}

torch::Tensor ClassifierFeatures::features(const torch::Tensor& images) const {
  return run(images).first;
}

std::pair<torch::Tensor, torch::Tensor> ClassifierFeatures::features_and_logits(
    const torch::Tensor& images) const {
  return run(images);
}

std::string ClassifierFeatures::cache_key() const {
  return describe() + (cache_path_.empty() ? std::string() : " " + cache_fingerprint({}, {cache_path_}));
}

std::string ClassifierFeatures::describe() const {
  return "classifier (" + std::to_string(kClassifierFeatureDim) + "-d, " +
         std::to_string(n_classes_) + " classes, " +
         (cache_path_.empty() ? std::string("not cached") : cache_path_) + ")";
}

}  // namespace pbtnas::gan
