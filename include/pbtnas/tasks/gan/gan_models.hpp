#pragma once
// The GAN networks of PBT-NAS (docs/algorithm.md, "GAN search spaces"): the AdversarialNAS
// generator (GanEasy: fixed projections; GanHard: searchable projections), the fixed AutoGAN
// discriminator (GanEasy) and the searchable GanHard discriminator. GanNet registers them as `generator` and
// `discriminator`, so tensor names carry the module prefixes of gan_spaces.hpp:
//   generator.projections.<i>.linear.*        GanHard proj<i>.linear      (gene)
//   generator.fixed_projections.<i>.linear.*  GanEasy projections         (fixed; STL-10: i = 0, 1)
//   generator.cell<k>.up0|up1|c0..c4.*        cell genes                  (gene)
//   generator.cell<k>.skip_in.<j>.*           skip-in 1x1 convs           (fixed)
//   generator.to_rgb.bn.*, generator.to_rgb.conv.*                        (fixed)
//   discriminator.block<b>.c0..c6|down0|down1.*  GanHard D genes          (gene)
//   discriminator.block<b>.c1|c2|c_sc.*       AutoGAN-D (GanEasy only)    (fixed)
//   discriminator.l5.*                        final SN linear, no bias    (fixed)
// Tensors under a gene's prefix depend only on that gene's option and the config widths.
#include <cstdint>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "pbtnas/tasks/gan/gan_options.hpp"
#include "pbtnas/core/search_space.hpp"

namespace pbtnas::gan {

enum class GanSpaceKind { Easy, Hard };
// "gan_easy" -> Easy, "gan_hard" -> Hard; throws std::invalid_argument otherwise.
GanSpaceKind gan_space_kind(const std::string& space_name);

// A node operation of a cell or D block (edge op, up op, down op, pool or identity).
class GanOpImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};
// [ReLU ->] conv k x k ("same" padding for stride 1), bias, child `conv` (an SNConv2d when sn).
std::shared_ptr<GanOpImpl> make_conv_op(int in, int out, int kernel, int dilation, int stride,
                                        bool pre_activation, bool spectral_norm);
// Identity (no tensors).
std::shared_ptr<GanOpImpl> make_identity_op();
// The edge op `option` of edge_op_names() (nullptr for 'none'), stride 1, pre-activated.
std::shared_ptr<GanOpImpl> make_edge_op(int option, int channels, bool spectral_norm);

// Linear projection of z (docs/algorithm.md, "Projections of the latent vector"): child `linear`.
class GanProjectionImpl : public torch::nn::Module {
 public:
  // linear_option indexes projection_linear_names(), up_mode up_mode_names().
  GanProjectionImpl(int index, int linear_option, int up_mode, double dropout, bool enabled,
                    const GanModelConfig& cfg);
  // A fixed projection of the slice z[z_begin, z_end) to gf x width x width (Linear and view: no
  // upsampling, no dropout), as GanEasy's STL-10 projections (cfg.stl_projections).
  GanProjectionImpl(int z_begin, int z_end, int width, const GanModelConfig& cfg);
  // z: N x latent -> N x gf x target x target, or an undefined tensor when disabled.
  torch::Tensor forward(const torch::Tensor& z);
  bool enabled() const { return enabled_; }

 private:
  torch::nn::Linear linear_{nullptr};
  int index_, gf_, in_dim_, out_width_, scale_;
  int z_begin_ = 0;  // first latent of the slice ('part' and the STL-10 projections)
  bool whole_, bilinear_, enabled_;
  double dropout_;
};

// Generator cell (docs/algorithm.md, "Generator cell"): gf -> gf channels, x2 spatial; children
// up0, up1, c0..c4 (absent for 'none') and skip_in.<j>. Genes: 7 option indices [up0, up1, c0,
// c1, c2, c3, c4].
class GanCellImpl : public torch::nn::Module {
 public:
  GanCellImpl(const std::vector<int>& genes, int channels, bool bilinear_skip, int n_skip_in);
  // Returns (skip_out, node3). skip_out includes this cell's skip-in additions (Q5 in
  // docs/algorithm.md).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x,
                                                  const std::vector<torch::Tensor>& skip_in);

 private:
  std::shared_ptr<GanOpImpl> up_[2];
  std::shared_ptr<GanOpImpl> c_[5];  // null when 'none'
  std::vector<torch::nn::Conv2d> skip_in_;
  bool bilinear_skip_;
};

class GanGeneratorImpl : public torch::nn::Module {
 public:
  // genome: a full genome of gan_easy_space() (21 genes) or gan_hard_space() (72 genes).
  GanGeneratorImpl(GanSpaceKind kind, const Genome& genome, const GanModelConfig& cfg);
  // z: N x latent_dim -> N x image_channels x (8 bottom) x (8 bottom), in [-1, 1].
  torch::Tensor forward(const torch::Tensor& z);

 private:
  std::vector<std::shared_ptr<GanProjectionImpl>> projections_;
  std::shared_ptr<GanCellImpl> cells_[3];
  torch::nn::BatchNorm2d to_rgb_bn_{nullptr};
  torch::nn::Conv2d to_rgb_conv_{nullptr};
  int latent_dim_;
};

// Base of the two discriminators: x: N x C x H x W -> N x 1 scores.
class GanDiscriminatorImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

// AutoGAN-D (GanEasy, fixed): block1 (optimized), block2 (downsample), block3, block4, ReLU,
// global sum pooling, SN linear l5 (no bias). Every conv spectrally normalised.
std::shared_ptr<GanDiscriminatorImpl> make_autogan_discriminator(const GanModelConfig& cfg);
// GanHard D: 4 searchable blocks (genes 32-71 of the gan_hard genome), ReLU, sum pooling, l5.
std::shared_ptr<GanDiscriminatorImpl> make_gan_hard_discriminator(const Genome& genome,
                                                                  const GanModelConfig& cfg);

// Generator + discriminator registered as `generator` and `discriminator`.
class GanNetImpl : public torch::nn::Module {
 public:
  // Validates the genome against the space of `kind` (std::invalid_argument on mismatch).
  GanNetImpl(GanSpaceKind kind, const Genome& genome, const GanModelConfig& cfg);
  torch::Tensor generate(const torch::Tensor& z) { return generator->forward(z); }
  torch::Tensor discriminate(const torch::Tensor& x) { return discriminator->forward(x); }

  std::shared_ptr<GanGeneratorImpl> generator;
  std::shared_ptr<GanDiscriminatorImpl> discriminator;
};

// The initialisation of docs/algorithm.md, "GAN training recipe", deterministic in `seed` and each
// tensor's name (relative to `net`): Conv2d weights (plain and SN weight_orig) xavier_uniform gain
// 1; conv biases, Linear / SN Linear weights and biases and ConvTranspose2d weights keep PyTorch's
// default distribution U(±1/sqrt(fan_in)); BatchNorm weight ~ N(1, 0.02), bias 0, running stats
// reset; SN u, v redrawn from N(0, 1) and normalised. Every tensor draws from its own local CPU
// generator seeded by (seed, name); the global RNG is never used. `net` must be on the CPU. Throws
// std::logic_error if a parameter belongs to a module kind the initialiser does not know.
void init_gan_net(torch::nn::Module& net, std::uint64_t seed);

}  // namespace pbtnas::gan
