#pragma once
// The two real feature networks behind FID and IS (feature_net.hpp, docs/gan.md section
// "Feature networks"):
//
//   TorchScriptFeatures  a TorchScript file, e.g. the standard FID Inception exported by
//                        jobs/tools/export_inception.py. Numbers are comparable to published
//                        Inception FIDs only with that network and the same reference images.
//   ClassifierFeatures   a small CNN classifier trained by the project on the data set itself
//                        and cached on disk; used when no TorchScript file is configured. This
//                        is FID in our own feature space, NOT comparable to published Inception
//                        FIDs (only to other runs with the same recipe and data).
//
// Both take images in [-1, 1] (N x C x H x W, C = 1 or 3) like every FeatureNet.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <torch/torch.h>

#include "pbtnas/tasks/gan/feature_net.hpp"

namespace pbtnas::gan {

// ---------------------------------------------------------------- TorchScriptFeatures
//
// Contract of the TorchScript file (jobs/tools/export_inception.py writes such a file):
//   forward(x) with x an N x 3 x H x W float32 tensor of pixel values in [0, 255] (integers, as
//   uint8 images give) on the module's device. The module does its own resizing and
//   normalisation (the exported Inception resizes to 299 x 299 bilinear and maps to [-1, 1] as
//   pytorch-fid does). It returns either
//     a tuple (features N x D, logits N x K)  -> FID features and Inception Score logits, or
//     a single tensor features N x D          -> FID only (features_and_logits gives undefined
//                                                logits, so no IS).
//   D (and K) must not depend on N, H or W.
//
// Our images are in [-1, 1] with C = 1 or 3 channels. They are converted as clean-fid does for
// generator outputs: x * 127.5 + 127.5, clamped to [0, 255] and rounded to the nearest integer
// (torch.round, ties to even; this quantises like a uint8 image and recovers the data set's
// bytes exactly for real images x = u / 127.5 - 1), and a single channel is replicated to 3.
// The module runs in eval mode under torch::NoGradGuard on `device`; inputs are moved there.
// The returned tensors stay on that device.
class TorchScriptFeatures : public FeatureNet {
 public:
  // Loads `path` with torch::jit::load onto `device`, switches it to eval mode and runs a probe
  // forward pass on a 2 x 3 x 32 x 32 zero batch to validate the outputs and learn D (and K).
  // Throws std::runtime_error: when the file is missing (naming the path and the config key
  // gan.features.torchscript), when it is not a loadable TorchScript file (naming the path and
  // including LibTorch's message), and when the probe's outputs do not follow the contract.
  TorchScriptFeatures(const std::string& path, torch::Device device);
  ~TorchScriptFeatures() override;
  TorchScriptFeatures(const TorchScriptFeatures&) = delete;
  TorchScriptFeatures& operator=(const TorchScriptFeatures&) = delete;

  // images: N x C x H x W (C = 1 or 3) in [-1, 1], any device and floating dtype. Throws
  // std::invalid_argument for other shapes and std::runtime_error when the module's outputs
  // break the contract (wrong type, rows != N, or a dimension other than the probe's).
  torch::Tensor features(const torch::Tensor& images_in_minus1_1) const override;
  std::pair<torch::Tensor, torch::Tensor> features_and_logits(
      const torch::Tensor& images_in_minus1_1) const override;
  // "torchscript <path> (2048-d, logits 1008)" or "torchscript <path> (2048-d, no logits)".
  std::string describe() const override;
  // describe() and the file's absolute path, size and modification time: another network exported
  // to the same path gives another key.
  std::string cache_key() const override;

  std::int64_t feature_dim() const { return feature_dim_; }
  std::int64_t num_logits() const { return num_logits_; }  // 0 when the module gives none
  const std::string& path() const { return path_; }

  // The [-1, 1] -> [0, 255] conversion above (1 channel replicated to 3), float32 on `device`.
  static torch::Tensor to_pixel_values(const torch::Tensor& images_in_minus1_1,
                                       torch::Device device);

 private:
  struct Impl;  // holds the torch::jit::Module (torch/script.h is included by the .cpp only)
  std::pair<torch::Tensor, torch::Tensor> run(const torch::Tensor& pixels) const;

  std::unique_ptr<Impl> impl_;
  std::string path_;
  torch::Device device_;
  std::int64_t feature_dim_ = 0;
  std::int64_t num_logits_ = 0;
};

// ---------------------------------------------------------------- ClassifierFeatures
//
// Architecture (fixed; kClassifierRecipeVersion changes whenever it or the training recipe
// does): input N x C x S x S in [-1, 1] (S = 32; STL-10: 48, the same layers);
//   conv3x3(C -> 32) + BN + ReLU, conv3x3(32 -> 32) + BN + ReLU, maxpool 2      (32 -> 16)
//   conv3x3(32 -> 64) + BN + ReLU, conv3x3(64 -> 64) + BN + ReLU, maxpool 2     (16 -> 8)
//   conv3x3(64 -> 128) + BN + ReLU, conv3x3(128 -> 128) + BN + ReLU
//   global average pool -> 128-d FEATURES (used by FID)
//   Linear(128 -> n_classes) -> LOGITS (used by IS)
// Convolutions have padding 1 and no bias (BatchNorm follows).
//
// Training recipe (deterministic for a given thread count and LibTorch build): the last
// min(5000, N / 10) images are held out as a check set, the rest are trained on for `epochs`
// epochs of Adam(lr, betas 0.9/0.999, no weight decay) with cross-entropy, batches of
// batch_size over a fresh permutation per epoch (the last batch of an epoch smaller), BatchNorm
// in training mode, no augmentation. Initial weights: convolutions U(±sqrt(6 / fan_in)), the
// linear layer U(±1 / sqrt(fan_in)), BatchNorm weight 1 and bias 0, drawn in registration order
// from a local CPU generator seeded with derive_seed(seed, 0, 0, FreshInit); the permutation of
// epoch e from pbtnas::Rng(derive_seed(seed, e, 0, Train)). The global RNG is never used.
// Training runs on `device` with the caller's torch thread settings.
//
// Cache file: torch::save of the module (parameters and buffers) written atomically (to
// cache_path + ".tmp.<host>.<pid>", then renamed). Besides the BatchNorm statistics the module
// holds two metadata buffers: "meta" = int64 {magic 0x70627466, kClassifierRecipeVersion,
// n_classes, channels, fingerprint (the uint64 bits of ClassifierFeatures::fingerprint)} and
// "check_accuracy" = float64 {held-out accuracy}. A file whose metadata, tensor shapes or values
// (non-finite) do not match what load_or_train expects, or that torch::load rejects (corrupt,
// truncated, older recipe), is retrained and replaced, with a log line saying so.
inline constexpr std::int64_t kClassifierRecipeVersion = 1;
inline constexpr std::int64_t kClassifierFeatureDim = 128;

struct ClassifierFeaturesConfig {
  // The cache file (a full path). Empty: train every time, never cache (tests, one-off runs).
  std::string cache_path;
  int epochs = 2;
  int batch_size = 128;
  double lr = 1e-3;
  std::uint64_t seed = 0x5EED'F1D0'C1A5'5001ULL;  // the recipe seed; not the run seed
};

class ClassifierFeatures : public FeatureNet {
 public:
  using Log = std::function<void(const std::string&)>;

  // images: N x C x S x S float in [-1, 1] on the CPU (C >= 1, S >= 8, N >= 10); labels: N integer
  // labels in [0, n_classes) (converted to int64); n_classes >= 2.
  // With a cache path: takes an exclusive flock on cache_path + ".lock" (creating the lock file
  // and the parent directories; the lock file is left in place), loads the cache file when it
  // exists and matches, otherwise trains and saves it, then releases the lock. So of several
  // processes (MPI ranks on one node, or nodes sharing a file system with working flock) that
  // start together only one trains; the others wait, then load. Threads of one process also
  // exclude each other (flock is per open file description).
  // Throws std::invalid_argument for malformed inputs and std::runtime_error naming the path and
  // the config key gan.features.cache_dir when the cache location cannot be written (a readable,
  // matching cache file in a read-only location is used without the lock).
  // `log` (may be empty) receives progress lines: loading, training per epoch, check accuracy,
  // the reason a cache file was replaced. `known_fingerprint`: fingerprint(images, labels,
  // n_classes, cfg) when the caller has already computed it (for the cache file's name), so that
  // a worker hashes its images once at start-up; any other value is a caller's error.
  static std::shared_ptr<ClassifierFeatures> load_or_train(const ClassifierFeaturesConfig& cfg,
                                                           const torch::Tensor& images,
                                                           const torch::Tensor& labels,
                                                           int n_classes, torch::Device device,
                                                           const Log& log,
                                                           std::optional<std::uint64_t> known_fingerprint = std::nullopt);

  // A file NAME (no directory) "pbtnas-fid-classifier-<dataset>-<16 hex digits>.pt" with the
  // hex digits fingerprint(...) and <dataset> reduced to [A-Za-z0-9_-] (others become '_').
  static std::string cache_file_name(const std::string& dataset_name, const torch::Tensor& images,
                                     const torch::Tensor& labels, int n_classes,
                                     const ClassifierFeaturesConfig& cfg);
  // The same name for an already computed fingerprint.
  static std::string cache_file_name(const std::string& dataset_name, std::uint64_t fingerprint);
  // 64-bit FNV-1a over: kClassifierRecipeVersion, epochs, batch_size, the bits of lr, seed,
  // n_classes, the image tensor's shape, every image value quantised to a byte
  // (x * 127.5 + 127.5 clamped to [0, 255], rounded half up; NaN counts as 0) and every label as
  // a little-endian int64. All values are hashed, not a subset (~0.1 s for 60000 x 1 x 32 x 32).
  static std::uint64_t fingerprint(const torch::Tensor& images, const torch::Tensor& labels,
                                   int n_classes, const ClassifierFeaturesConfig& cfg);

  ~ClassifierFeatures() override;
  ClassifierFeatures(const ClassifierFeatures&) = delete;
  ClassifierFeatures& operator=(const ClassifierFeatures&) = delete;

  // images: N x C x S x S in [-1, 1] (C and S those of the training images), any device/floating dtype;
  // moved to the module's device and evaluated in forward passes of at most 500 images (eval
  // mode, NoGradGuard). Returns N x 128 float32 features on that device.
  torch::Tensor features(const torch::Tensor& images_in_minus1_1) const override;
  // Features and N x n_classes logits from one forward pass.
  std::pair<torch::Tensor, torch::Tensor> features_and_logits(
      const torch::Tensor& images_in_minus1_1) const override;
  // "classifier (128-d, <n> classes, <cache path>)" ("not cached" without a cache path).
  std::string describe() const override;
  // describe() and the cached classifier file's size and modification time (a retrained one gives
  // another key).
  std::string cache_key() const override;

  int n_classes() const { return n_classes_; }
  int channels() const { return channels_; }
  int side() const { return side_; }  // the image side it was trained on (32, STL-10: 48)
  double check_accuracy() const { return check_accuracy_; }  // held-out accuracy, in [0, 1]
  bool freshly_trained() const { return freshly_trained_; }  // false: loaded from the cache
  const std::string& cache_path() const { return cache_path_; }
  torch::Device device() const { return device_; }

  struct Net;  // the torch::nn::Module (defined in src/tasks/gan_features_internal.hpp)

 private:
  ClassifierFeatures(std::shared_ptr<Net> net, int n_classes, int channels, int side, double check_accuracy,
                     bool freshly_trained, std::string cache_path, torch::Device device);
  std::pair<torch::Tensor, torch::Tensor> run(const torch::Tensor& images) const;

  std::shared_ptr<Net> net_;
  int n_classes_ = 0;
  int channels_ = 0;
  int side_ = 32;
  double check_accuracy_ = 0.0;
  bool freshly_trained_ = false;
  std::string cache_path_;
  torch::Device device_;
};

}  // namespace pbtnas::gan
