// ClassifierFeatures' cache file: the fingerprinted file name, the flock that lets one process
// train while the others wait, verified loading and atomic saving (features.hpp).
#include <cctype>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>

#include "gan_features_internal.hpp"
#include "pbtnas/tasks/node_cache.hpp"
#include "pbtnas/util/file_lock.hpp"

namespace pbtnas::gan {

using namespace detail;

namespace {

namespace fs = std::filesystem;

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

std::string unwritable(const std::string& path, const std::string& detail) {
  return "classifier features: cannot write the cache " + path + " (" + detail +
         "); set gan.features.cache_dir to a writable directory";
}

void save_atomically(const Net& net, const std::string& path) {
  const std::string tmp = temporary_name(path);
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
  return cache_file_name(dataset_name, fingerprint(images, labels, n_classes, cfg));
}

std::string ClassifierFeatures::cache_file_name(const std::string& dataset_name, std::uint64_t fingerprint) {
  std::string name = dataset_name.empty() ? std::string("data") : dataset_name;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') c = '_';
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fingerprint));
  return "pbtnas-fid-classifier-" + name + "-" + hex + ".pt";
}

std::shared_ptr<ClassifierFeatures> ClassifierFeatures::load_or_train(
    const ClassifierFeaturesConfig& cfg, const torch::Tensor& images, const torch::Tensor& labels,
    int n_classes, torch::Device device, const Log& log, std::optional<std::uint64_t> known_fingerprint) {
  validate_config(cfg);
  const auto [x, y] = checked_data(images, labels, n_classes);
  if (x.size(0) < 10)
    throw std::invalid_argument("classifier features: at least 10 images are needed (10% are "
                                "held out), got " +
                                std::to_string(x.size(0)));
  if (y.numel() > 0 && (y.min().item<std::int64_t>() < 0 || y.max().item<std::int64_t>() >= n_classes))
    throw std::invalid_argument("classifier features: labels must lie in [0, " +
                                std::to_string(n_classes) + ")");
  // One pass over the data without the n-byte mask torch::isfinite would allocate.
  const float* px = x.data_ptr<float>();
  bool finite = true;
  for (std::int64_t i = 0, n = x.numel(); i < n; ++i) finite &= (px[i] - px[i] == 0.0f);  // false for NaN, inf
  if (!finite)
    throw std::invalid_argument("classifier features: the images hold non-finite values");
  const int channels = static_cast<int>(x.size(1));
  const int side = static_cast<int>(x.size(2));
  const std::uint64_t fp = known_fingerprint ? *known_fingerprint : fingerprint_of(x, y, n_classes, cfg);
  const std::string& path = cfg.cache_path;

  auto make = [&](std::shared_ptr<Net> net, bool trained) {
    net->to(device);
    net->eval();
    const double acc = net->check_accuracy.item<double>();
    return std::shared_ptr<ClassifierFeatures>(
        new ClassifierFeatures(std::move(net), n_classes, channels, side, acc, trained, path, device));
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
  // One process trains while the others wait for the lock (util/file_lock.hpp): tried first, so
  // that a waiting process can say why it waits.
  std::optional<FileLock> lock;
  try {
    lock.emplace(lock_path, FileLock::Wait::Try);
  } catch (const std::exception& e) {
    const std::string detail =
        e.what() + (dir_ec ? "; creating " + parent.string() + ": " + dir_ec.message() : std::string());
    // A read-only location that already holds a matching cache file is fine.
    std::error_code ec;
    std::string why;
    if (fs::exists(path, ec))
      if (auto net = try_load(path, channels, n_classes, fp, why))
        return loaded(std::move(net), " without the lock (" + detail + ")");
    throw std::runtime_error(unwritable(path, detail));
  }
  if (lock->unsupported()) {
    // A file system without flock: each process that finds no usable file trains, writes a
    // temporary of its own and renames it into place (equal inputs give equal files).
    const std::string line = "classifier features: " + lock->why() + "; preparing " + path +
                             " without the lock (each process that finds no cache file trains "
                             "and renames its own temporary into place)";
    if (log)
      log(line);
    else
      std::cerr << "pbtnas: " << line << std::endl;
  } else if (!lock->held()) {
    if (log)
      log("classifier features: waiting for the lock " + lock_path +
          " (another process is preparing the cache)");
    lock.reset();
    try {
      lock.emplace(lock_path, FileLock::Wait::Block);
    } catch (const std::exception& e) {
      throw std::runtime_error(unwritable(path, e.what()));
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
}  // namespace pbtnas::gan
