#pragma once
// The GAN task of PBT-NAS (docs/algorithm.md: "GAN training recipe", "GAN fitness and final
// evaluation", "Building a child's weights" step 5) on Fashion-MNIST (28x28 gray
// images scaled to [-1, 1] and padded to 32x32 with -1), CIFAR-10 (32x32 RGB, binary batches) or
// STL-10 (train+unlabeled, 96x96 RGB resized to 48x48),
// generator + discriminator of
// gan_models.hpp, hinge loss, n_critic D steps per G step, an EMA generator, fitness -FID of the
// EMA generator against the training set's feature statistics. docs/gan.md, section "Task".
#include <cstdint>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "pbtnas/tasks/gan/feature_net.hpp"
#include "pbtnas/tasks/gan/fid.hpp"
#include "pbtnas/tasks/gan/gan_options.hpp"
#include "pbtnas/tasks/gan/gan_models.hpp"
#include "pbtnas/tasks/task.hpp"

namespace pbtnas::gan {

// The training images of a GAN task: N x C x S x S float in [-1, 1] (CPU; S = 32, STL-10: 48)
// and labels (int64, used only to train the built-in feature classifier) of the first
// labels.size(0) images: all of them, except for STL-10 (only train_X.bin is labelled; none are
// read when a TorchScript feature network is configured).
struct GanData {
  torch::Tensor images;
  torch::Tensor labels;
  int n_classes = 10;
};
// Reads cfg.dataset from cfg.data_dir (first train_limit images when > 0). Throws
// std::runtime_error naming the file and the fix when the data cannot be read.
GanData load_gan_data(const GanOptions& cfg);
// The files load_gan_data reads the training images from (for cache keys).
std::vector<std::string> gan_image_files(const GanOptions& cfg);

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
  // fixed latents (fitness with gan.fid_latents "fixed", and the unseeded fid()). Throws std::invalid_argument for unusable settings and
  // std::runtime_error for unreadable data.
  GanTask(GanOptions cfg, std::uint64_t run_seed, std::shared_ptr<FeatureNet> features);
  // Same with data already loaded by load_gan_data(cfg).
  GanTask(GanOptions cfg, std::uint64_t run_seed, std::shared_ptr<FeatureNet> features,
          GanData data);

  const SearchSpace& space() const override { return space_; }
  // GanNet (init_gan_net(seed)), average = GanEma holding an exact copy of the generator,
  // optimizers[0] = Adam(generator), optimizers[1] = Adam(discriminator).
  Member create(const Genome& genome, std::uint64_t init_seed, torch::Device device) const override;
  // train_loss: mean D hinge loss per real sample; samples: real samples seen by D. At the end
  // of the step the fitness is measured once, -FID of the EMA generator (eval mode, live
  // BatchNorm statistics) on fitness_latents(seed), and stored in the member's extra state
  // "eval.neg_fid" (NaN when the images or the distance are not finite).
  StepStats train(Member& member, int epoch_begin, int epochs, std::uint64_t seed) const override;
  // The stored -FID of the member's last step; NaN before its first step.
  double fitness(Member& member) const override;
  // Same as fitness for now (training-set statistics; no separate test statistics).
  double test_score(Member& member) const override { return fitness(member); }
  // The stored fitness belongs to the member that trained: a child starts without one.
  std::vector<ExtraState> extra_state() const override { return {{"eval", ExtraInherit::Fresh}}; }
  std::string fitness_name() const override { return "neg_fid"; }
  // The FID itself (fitness is its negation; test_score is the same number).
  std::vector<Metric> final_scores(double fitness, double) const override { return {{"FID", -fitness}}; }
  // docs/algorithm.md, "GAN fitness and final evaluation": FID of the EMA generator on final_fid_samples fresh latents (fixed by the
  // run seed), and the Inception Score of the same images from the feature network's logits
  // (when it has logits): fid, fid_samples, inception_score, inception_score_std.
  std::vector<Metric> final_metrics(Member& member) const override;
  // A grid of grid_samples EMA-generator images from fixed latents (the same for every member and
  // generation, so grids are comparable); false when grid_samples is 0.
  bool write_preview(Member& member, const std::string& png_path) const override;

  // FID of the EMA generator (>= 0 up to rounding; NaN for non-finite images or covariances
  // that are not positive semi-definite) on the latents z, or on the run's fixed set.
  double fid(Member& member, const torch::Tensor& z) const;
  double fid(Member& member) const { return fid(member, fid_z_); }
  // The latents of the fitness FID of the step trained with `train_seed`: with
  // gan.fid_latents "fresh" (default) drawn from that seed, so they differ for every member and
  // generation and depend only on the run seed; with "fixed" the run's one set.
  torch::Tensor fitness_latents(std::uint64_t train_seed) const;
  // EMA generator images for the given latents (eval mode, CPU output).
  torch::Tensor sample_ema(Member& member, const torch::Tensor& z) const;

  const GanOptions& config() const { return cfg_; }
  std::int64_t train_size() const { return train_x_.size(0); }
  const torch::Tensor& train_images() const { return train_x_; }  // N x C x S x S in [-1, 1]
  const FeatureStats& reference_stats() const { return ref_stats_; }
  std::int64_t iterations_per_epoch() const;
  const FeatureNet& feature_net() const { return *features_; }

 private:
  GanOptions cfg_;
  GanSpaceKind kind_;
  SearchSpace space_;
  std::shared_ptr<FeatureNet> features_;
  torch::Tensor train_x_;  // CPU float N x C x S x S (S = 8 bottom_width)
  torch::Tensor fid_z_;    // CPU float fid_samples x latent_dim
  torch::Tensor grid_z_;   // CPU float grid_samples x latent_dim
  std::uint64_t run_seed_ = 0;
  FeatureStats ref_stats_;
};

}  // namespace pbtnas::gan
