#pragma once
// The GAN task of PBT-NAS (ALGORITHM.md §4.1, §2.4, §2.7 step 5) on Fashion-MNIST: 28x28 gray
// images scaled to [-1, 1] and padded to 32x32 with -1, generator + discriminator of
// gan_models.hpp, hinge loss, n_critic D steps per G step, an EMA generator, fitness -FID of the
// EMA generator against the training set's feature statistics. docs/gan.md, section "Task".
#include <cstdint>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "pbtnas/gan/fid.hpp"
#include "pbtnas/gan/gan_models.hpp"
#include "pbtnas/tasks/task.hpp"

namespace pbtnas::gan {

struct GanTaskConfig {
  GanModelConfig model;              // image_channels must be 1, bottom_width * 8 must be 32
  std::string space = "gan_hard";    // "gan_easy" or "gan_hard"
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  std::string train_images = "train-images-idx3-ubyte.gz",
              train_labels = "train-labels-idx1-ubyte.gz";
  std::int64_t train_limit = 0;      // > 0: use only the first train_limit training images
  int d_batch = 40;                  // real (and fake) batch of a D step
  int g_batch_multiplier = 2;        // a G step uses g_batch_multiplier * d_batch samples
  int n_critic = 5;                  // G step on iterations i % n_critic == 0 (i from 0 per epoch)
  double lr = 2e-4;
  double beta1 = 0.0, beta2 = 0.9, eps = 1e-4;
  double ema_decay = 0.999;
  std::int64_t iterations_per_epoch = 0;  // 0: one pass over the data with d_batch
  int fid_samples = 5000;            // generated images per FID; also the training images used
                                     // for the reference statistics (at most all of them)
  int eval_batch_size = 250;         // generation / feature batch during evaluation
};

// Feature extractor for FID. Input: N x C x H x W float images in [-1, 1] on any device;
// output: N x D float features (any device). Implementations must be deterministic.
class FeatureNet {
 public:
  virtual ~FeatureNet() = default;
  virtual torch::Tensor features(const torch::Tensor& images_in_minus1_1) const = 0;
};

// A TEST STAND-IN, NOT A MEANINGFUL FID: a fixed random projection (conv 5x5 stride 2 padding
// 2 with `dim` output channels, weights N(0, 1/(in_channels*25)) from a local generator seeded
// with `seed`, then tanh and global average pooling) -> N x dim. Numbers computed with it are
// not comparable to clean-fid's Inception FID.
class RandomProjectionFeatures : public FeatureNet {
 public:
  RandomProjectionFeatures(int dim, std::uint64_t seed, int in_channels = 1);
  torch::Tensor features(const torch::Tensor& images_in_minus1_1) const override;

 private:
  torch::Tensor weight_;  // CPU, dim x in_channels x 5 x 5
  torch::Tensor bias_;    // CPU, dim
};

// The EMA generator of a member (Member::average): a copy of the live generator registered
// under the name `generator`, so that its exported names are "average.generator.<...>" and the
// gene prefixes "generator.*" own them after "average." is stripped.
class GanEmaImpl : public torch::nn::Module {
 public:
  explicit GanEmaImpl(std::shared_ptr<GanGeneratorImpl> g)
      : generator(register_module("generator", std::move(g))) {}
  std::shared_ptr<GanGeneratorImpl> generator;
};

class GanTask : public Task {
 public:
  // Loads the training images (first train_limit of them when > 0), computes the reference
  // feature statistics over the first min(fid_samples, N) of them with `features` and draws the
  // fixed evaluation latents. Throws std::invalid_argument for unusable settings and
  // std::runtime_error for unreadable data.
  GanTask(GanTaskConfig cfg, std::uint64_t run_seed, std::shared_ptr<FeatureNet> features);

  const SearchSpace& space() const override { return space_; }
  // GanNet (init_gan_net(seed)), average = GanEma holding an exact copy of the generator,
  // optimizers[0] = Adam(generator), optimizers[1] = Adam(discriminator).
  Member create(const Genome& genome, std::uint64_t init_seed, torch::Device device) const override;
  // train_loss: mean D hinge loss per real sample; samples: real samples seen by D.
  StepStats train(Member& member, int epoch_begin, int epochs, std::uint64_t seed) const override;
  // -FID of the EMA generator (eval mode, live BatchNorm statistics) on the fixed latents; NaN
  // when the generator produces non-finite images.
  double fitness(Member& member) const override;
  // Same as fitness for now (training-set statistics; no separate test statistics).
  double test_score(Member& member) const override { return fitness(member); }
  std::string fitness_name() const override { return "neg_fid"; }

  // FID of the EMA generator (>= 0 up to rounding; NaN for non-finite images).
  double fid(Member& member) const;
  // EMA generator images for the given latents (eval mode, CPU output).
  torch::Tensor sample_ema(Member& member, const torch::Tensor& z) const;

  const GanTaskConfig& config() const { return cfg_; }
  std::int64_t train_size() const { return train_x_.size(0); }
  const torch::Tensor& train_images() const { return train_x_; }  // N x 1 x 32 x 32 in [-1, 1]
  const FeatureStats& reference_stats() const { return ref_stats_; }
  std::int64_t iterations_per_epoch() const;

 private:
  GanTaskConfig cfg_;
  GanSpaceKind kind_;
  SearchSpace space_;
  std::shared_ptr<FeatureNet> features_;
  torch::Tensor train_x_;  // CPU float N x 1 x 32 x 32
  torch::Tensor fid_z_;    // CPU float fid_samples x latent_dim
  FeatureStats ref_stats_;
};

}  // namespace pbtnas::gan
