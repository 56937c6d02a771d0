#include "pbtnas/gan/features.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/script.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "pbtnas/seed.hpp"

namespace pbtnas::gan {
namespace {

namespace F = torch::nn::functional;
namespace fs = std::filesystem;

// The message of a LibTorch error without its C++ backtrace.
std::string error_message(const std::exception& e) {
  if (const auto* c10e = dynamic_cast<const c10::Error*>(&e)) return c10e->what_without_backtrace();
  return e.what();
}

std::string shape_str(const torch::Tensor& t) {
  std::string s;
  for (std::int64_t i = 0; i < t.dim(); ++i) s += (i ? " x " : "") + std::to_string(t.size(i));
  return t.dim() == 0 ? std::string("a scalar") : s;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string general(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

// ---------------------------------------------------------------- TorchScriptFeatures

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

// ---------------------------------------------------------------- ClassifierFeatures

namespace {

constexpr std::int64_t kMetaMagic = 0x70627466;  // "pbtf"
constexpr int kWidths[6] = {32, 32, 64, 64, 128, 128};
constexpr std::int64_t kForwardChunk = 500;  // images per forward pass in features()

}  // namespace

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
      if (i == 1 || i == 3) x = F::max_pool2d(x, F::MaxPool2dFuncOptions(2));
    }
    return x.mean({2, 3});
  }

  std::vector<torch::nn::Conv2d> convs;
  std::vector<torch::nn::BatchNorm2d> bns;
  torch::nn::Linear head{nullptr};
  torch::Tensor meta, check_accuracy;
};

namespace {

using Net = ClassifierFeatures::Net;

struct Fnv1a {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  void byte(std::uint8_t b) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) byte(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
};

// Checks the shapes load_or_train / fingerprint accept; returns the images as contiguous CPU
// float32 and the labels as contiguous CPU int64.
std::pair<torch::Tensor, torch::Tensor> checked_data(const torch::Tensor& images,
                                                     const torch::Tensor& labels, int n_classes) {
  const std::string what = "classifier features: ";
  if (!images.defined() || images.dim() != 4 || images.size(1) < 1 || images.size(2) != 32 ||
      images.size(3) != 32 || !images.is_floating_point())
    throw std::invalid_argument(what + "expected N x C x 32 x 32 float images in [-1, 1], got " +
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
    h ^= q;
    h *= 0x100000001b3ULL;
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
    net.bns[i]->weight.fill_(1.0);
    net.bns[i]->bias.zero_();
    net.bns[i]->running_mean.zero_();
    net.bns[i]->running_var.fill_(1.0);
    net.bns[i]->num_batches_tracked.zero_();
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
  const auto t0 = std::chrono::steady_clock::now();
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
          fixed(acc, 4) + " (" + fixed(seconds_since(t0), 1) + " s)");
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

// Loads a cache file into a fresh CPU Net and checks it; nullptr with `why` set otherwise.
std::shared_ptr<Net> try_load(const std::string& path, int channels, int n_classes,
                              std::uint64_t fingerprint, std::string& why) {
  auto net = std::make_shared<Net>(channels, n_classes);
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> shapes;
  for (const auto& item : net->named_parameters())
    shapes.emplace_back(item.key(), item.value().sizes().vec());
  for (const auto& item : net->named_buffers())
    shapes.emplace_back(item.key(), item.value().sizes().vec());
  try {
    torch::load(net, path, torch::Device(torch::kCPU));
  } catch (const std::exception& e) {
    why = "torch::load failed: " + error_message(e);
    return nullptr;
  }
  const auto params = net->named_parameters();
  const auto buffers = net->named_buffers();
  for (const auto& [name, sizes] : shapes) {
    const torch::Tensor* t = params.find(name);
    if (!t) t = buffers.find(name);
    if (!t || !t->defined() || t->sizes().vec() != sizes) {
      why = "tensor " + name + " is missing or has another shape";
      return nullptr;
    }
    if (t->is_floating_point() && !torch::isfinite(*t).all().item<bool>()) {
      why = "tensor " + name + " holds non-finite values";
      return nullptr;
    }
  }
  std::int64_t fp_bits = 0;
  std::memcpy(&fp_bits, &fingerprint, sizeof fp_bits);
  const torch::Tensor want = torch::tensor({kMetaMagic, kClassifierRecipeVersion,
                                            static_cast<std::int64_t>(n_classes),
                                            static_cast<std::int64_t>(channels), fp_bits},
                                           torch::kInt64);
  if (net->meta.scalar_type() != torch::kInt64 || !net->meta.equal(want)) {
    why = "its metadata (recipe version, classes, channels or data fingerprint) differs";
    return nullptr;
  }
  const double acc = net->check_accuracy.item<double>();
  if (!(acc >= 0.0 && acc <= 1.0)) {
    why = "its stored check accuracy is not in [0, 1]";
    return nullptr;
  }
  net->eval();
  return net;
}

// An exclusive flock held for the object's lifetime.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {}
  ~FileLock() {
    if (fd_ >= 0) {
      ::flock(fd_, LOCK_UN);
      ::close(fd_);
    }
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

std::string unwritable(const std::string& path, const std::string& detail) {
  return "classifier features: cannot write the cache " + path + " (" + detail +
         "); set gan.features.cache_dir to a writable directory";
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "host";
  std::string s(buf);
  for (char& c : s)
    if (c == '/' || c == '\0') c = '_';
  return s.empty() ? "host" : s;
}

void save_atomically(const Net& net, const std::string& path) {
  const std::string tmp = path + ".tmp." + host_name() + "." + std::to_string(::getpid());
  try {
    torch::serialize::OutputArchive archive;
    net.save(archive);
    archive.save_to(tmp);
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw std::runtime_error(unwritable(path, "writing " + tmp + ": " + error_message(e)));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw std::runtime_error(unwritable(path, "renaming " + tmp + ": " + ec.message()));
  }
}

}  // namespace

ClassifierFeatures::ClassifierFeatures(std::shared_ptr<Net> net, int n_classes, int channels,
                                       double check_accuracy, bool freshly_trained,
                                       std::string cache_path, torch::Device device)
    : net_(std::move(net)),
      n_classes_(n_classes),
      channels_(channels),
      check_accuracy_(check_accuracy),
      freshly_trained_(freshly_trained),
      cache_path_(std::move(cache_path)),
      device_(device) {}

ClassifierFeatures::~ClassifierFeatures() = default;

std::uint64_t ClassifierFeatures::fingerprint(const torch::Tensor& images,
                                              const torch::Tensor& labels, int n_classes,
                                              const ClassifierFeaturesConfig& cfg) {
  const auto [x, y] = checked_data(images, labels, n_classes);
  return fingerprint_of(x, y, n_classes, cfg);
}

std::string ClassifierFeatures::cache_file_name(const std::string& dataset_name,
                                                const torch::Tensor& images,
                                                const torch::Tensor& labels, int n_classes,
                                                const ClassifierFeaturesConfig& cfg) {
  std::string name = dataset_name.empty() ? std::string("data") : dataset_name;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') c = '_';
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(fingerprint(images, labels, n_classes, cfg)));
  return "pbtnas-fid-classifier-" + name + "-" + hex + ".pt";
}

std::shared_ptr<ClassifierFeatures> ClassifierFeatures::load_or_train(
    const ClassifierFeaturesConfig& cfg, const torch::Tensor& images, const torch::Tensor& labels,
    int n_classes, torch::Device device, const Log& log) {
  validate_config(cfg);
  const auto [x, y] = checked_data(images, labels, n_classes);
  if (x.size(0) < 10)
    throw std::invalid_argument("classifier features: at least 10 images are needed (10% are "
                                "held out), got " +
                                std::to_string(x.size(0)));
  if (y.numel() > 0 && (y.min().item<std::int64_t>() < 0 || y.max().item<std::int64_t>() >= n_classes))
    throw std::invalid_argument("classifier features: labels must lie in [0, " +
                                std::to_string(n_classes) + ")");
  if (!torch::isfinite(x).all().item<bool>())
    throw std::invalid_argument("classifier features: the images hold non-finite values");
  const int channels = static_cast<int>(x.size(1));
  const std::uint64_t fp = fingerprint_of(x, y, n_classes, cfg);
  const std::string& path = cfg.cache_path;

  auto make = [&](std::shared_ptr<Net> net, bool trained) {
    net->to(device);
    net->eval();
    const double acc = net->check_accuracy.item<double>();
    return std::shared_ptr<ClassifierFeatures>(
        new ClassifierFeatures(std::move(net), n_classes, channels, acc, trained, path, device));
  };
  auto loaded = [&](std::shared_ptr<Net> net, const std::string& how) {
    if (log)
      log("classifier features: loaded " + path + how + " (check accuracy " +
          fixed(net->check_accuracy.item<double>(), 4) + ")");
    return make(std::move(net), false);
  };
  if (path.empty()) {
    if (log) log("classifier features: no cache path; training without caching");
    return make(train_net(cfg, x, y, n_classes, fp, device, log), true);
  }

  const fs::path parent = fs::path(path).parent_path();
  std::error_code dir_ec;
  if (!parent.empty()) fs::create_directories(parent, dir_ec);
  const std::string lock_path = path + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) {
    const int open_errno = errno;
    const std::string detail = "cannot create the lock file " + lock_path + ": " +
                               std::strerror(open_errno) +
                               (dir_ec ? "; creating " + parent.string() + ": " + dir_ec.message()
                                       : std::string());
    // A read-only location that already holds a matching cache file is fine.
    std::error_code ec;
    std::string why;
    if (fs::exists(path, ec))
      if (auto net = try_load(path, channels, n_classes, fp, why))
        return loaded(std::move(net), " without the lock (" + detail + ")");
    throw std::runtime_error(unwritable(path, detail));
  }
  FileLock lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int lock_errno = errno;
    if (lock_errno != EWOULDBLOCK && lock_errno != EINTR)
      throw std::runtime_error(unwritable(path, "flock on " + lock_path + ": " +
                                                    std::strerror(lock_errno)));
    if (log)
      log("classifier features: waiting for the lock " + lock_path +
          " (another process is preparing the cache)");
    while (::flock(fd, LOCK_EX) != 0) {
      const int wait_errno = errno;
      if (wait_errno != EINTR)
        throw std::runtime_error(unwritable(path, "flock on " + lock_path + ": " +
                                                      std::strerror(wait_errno)));
    }
  }

  std::error_code ec;
  if (fs::exists(path, ec)) {
    std::string why;
    if (auto net = try_load(path, channels, n_classes, fp, why)) return loaded(std::move(net), "");
    if (log)
      log("classifier features: the cache file " + path + " is unusable (" + why +
          "); retraining and replacing it");
  }
  auto net = train_net(cfg, x, y, n_classes, fp, device, log);
  save_atomically(*net, path);
  if (log) log("classifier features: saved " + path);
  return make(std::move(net), true);
}

std::pair<torch::Tensor, torch::Tensor> ClassifierFeatures::run(const torch::Tensor& images) const {
  if (images.dim() != 4 || images.size(1) != channels_ || images.size(2) != 32 ||
      images.size(3) != 32)
    throw std::invalid_argument("classifier features: expected N x " + std::to_string(channels_) +
                                " x 32 x 32 images in [-1, 1], got " + shape_str(images));
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

std::string ClassifierFeatures::describe() const {
  return "classifier (" + std::to_string(kClassifierFeatureDim) + "-d, " +
         std::to_string(n_classes_) + " classes, " +
         (cache_path_.empty() ? std::string("not cached") : cache_path_) + ")";
}

}  // namespace pbtnas::gan
