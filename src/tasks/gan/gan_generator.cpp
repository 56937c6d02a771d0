// The PBT-NAS generator (docs/algorithm.md, "GAN search spaces"): projections, 3 cells, to_rgb;
// the shared ops.
#include <stdexcept>
#include <string>
#include <utility>

#include "pbtnas/tasks/gan/gan_models.hpp"
#include "pbtnas/tasks/gan/gan_spaces.hpp"
#include "pbtnas/tasks/gan/spectral_norm.hpp"

namespace pbtnas::gan {
namespace {

namespace F = torch::nn::functional;

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("gan model: " + what);
}

class IdentityOp : public GanOpImpl {
 public:
  torch::Tensor forward(const torch::Tensor& x) override { return x; }
};

class ConvOp : public GanOpImpl {  // [ReLU ->] conv; child "conv"
 public:
  ConvOp(int in, int out, int k, int dilation, int stride, bool pre_act, bool sn) : pre_act_(pre_act) {
    const int pad = dilation * (k - 1) / 2;
    if (sn)
      sn_ = register_module("conv", SNConv2d(SNConv2dOptions(in, out, k)
                                                 .stride(stride)
                                                 .padding(pad)
                                                 .dilation(dilation)));
    else
      conv_ = register_module(
          "conv", torch::nn::Conv2d(
                      torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).dilation(
                          dilation)));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    const torch::Tensor h = pre_act_ ? torch::relu(x) : x;
    return sn_ ? sn_->forward(h) : conv_->forward(h);
  }

 private:
  torch::nn::Conv2d conv_{nullptr};
  SNConv2d sn_{nullptr};
  bool pre_act_;
};

// Up op ("Generator cell" in docs/algorithm.md): interpolate x2 -> ReLU -> conv1x1 (bias), or
// ReLU -> depthwise ConvTranspose 3x3 stride 2 (no bias) -> conv1x1 (no bias). Children "conv"
// (and "deconv").
class UpOp : public GanOpImpl {
 public:
  UpOp(int option, int channels) : mode_(option) {
    if (option == 2) {
      deconv_ = register_module(
          "deconv", torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(channels, channels, 3)
                                                   .stride(2)
                                                   .padding(1)
                                                   .output_padding(1)
                                                   .groups(channels)
                                                   .bias(false)));
      conv_ = register_module(
          "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 1).bias(false)));
    } else {
      conv_ = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 1)));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    if (mode_ == 2) return conv_->forward(deconv_->forward(torch::relu(x)));
    auto opts = F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0});
    if (mode_ == 0)
      opts.mode(torch::kNearest);
    else
      opts.mode(torch::kBilinear).align_corners(false);
    return conv_->forward(torch::relu(F::interpolate(x, opts)));
  }

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::ConvTranspose2d deconv_{nullptr};
  int mode_;
};

torch::Tensor resize(const torch::Tensor& x, std::int64_t h, std::int64_t w, bool bilinear) {
  auto opts = F::InterpolateFuncOptions().size(std::vector<std::int64_t>{h, w});
  if (bilinear)
    opts.mode(torch::kBilinear).align_corners(false);
  else
    opts.mode(torch::kNearest);
  return F::interpolate(x, opts);
}

torch::Tensor sum_defined(const torch::Tensor& a, const torch::Tensor& b) {
  if (!a.defined()) return b;
  return b.defined() ? a + b : a;
}

int option(const Genome& genome, std::size_t g, std::size_t n_options) {
  const int o = genome.at(g);
  require(o >= 0 && static_cast<std::size_t>(o) < n_options,
          "gene " + std::to_string(g) + " has option " + std::to_string(o) + ", expected 0.." +
              std::to_string(n_options - 1));
  return o;
}

}  // namespace

GanSpaceKind gan_space_kind(const std::string& space_name) {
  if (space_name == "gan_easy") return GanSpaceKind::Easy;
  if (space_name == "gan_hard") return GanSpaceKind::Hard;
  throw std::invalid_argument("gan model: unknown GAN search space '" + space_name +
                              "'; expected gan_easy or gan_hard");
}

std::shared_ptr<GanOpImpl> make_conv_op(int in, int out, int kernel, int dilation, int stride,
                                        bool pre_activation, bool spectral_norm) {
  return std::make_shared<ConvOp>(in, out, kernel, dilation, stride, pre_activation,
                                  spectral_norm);
}

std::shared_ptr<GanOpImpl> make_identity_op() { return std::make_shared<IdentityOp>(); }

std::shared_ptr<GanOpImpl> make_edge_op(int option, int channels, bool spectral_norm) {
  switch (option) {
    case 0:
      return nullptr;  // none
    case 1:
      return make_identity_op();
    case 2:
      return make_conv_op(channels, channels, 1, 1, 1, true, spectral_norm);
    case 3:
      return make_conv_op(channels, channels, 3, 1, 1, true, spectral_norm);
    case 4:
      return make_conv_op(channels, channels, 5, 1, 1, true, spectral_norm);
    case 5:
      return make_conv_op(channels, channels, 3, 2, 1, true, spectral_norm);
    case 6:
      return make_conv_op(channels, channels, 5, 2, 1, true, spectral_norm);
    default:
      throw std::invalid_argument("gan model: edge op option " + std::to_string(option) +
                                  " out of range 0..6");
  }
}

GanProjectionImpl::GanProjectionImpl(int index, int linear_option, int up_mode, double dropout,
                                     bool enabled, const GanModelConfig& cfg)
    : index_(index), gf_(cfg.gf_dim), enabled_(enabled), dropout_(dropout) {
  require(index >= 0 && index <= 2, "projection index must be 0..2");
  require(linear_option >= 0 && linear_option < 6, "projection linear option must be 0..5");
  whole_ = linear_option < 3;
  bilinear_ = up_mode == 1;
  in_dim_ = whole_ ? cfg.latent_dim : cfg.latent_dim / 3;
  z_begin_ = whole_ ? 0 : index * in_dim_;
  const int target = cfg.bottom_width << index;
  const int kind = linear_option % 3;  // bottom, prev, target
  out_width_ = kind == 0 ? cfg.bottom_width
               : kind == 1 ? (index == 0 ? cfg.bottom_width / 2 : cfg.bottom_width << (index - 1))
                           : target;
  scale_ = target / out_width_;
  linear_ = register_module(
      "linear", torch::nn::Linear(in_dim_, static_cast<std::int64_t>(out_width_) * out_width_ * gf_));
}

GanProjectionImpl::GanProjectionImpl(int z_begin, int z_end, int width, const GanModelConfig& cfg)
    : index_(-1),
      gf_(cfg.gf_dim),
      in_dim_(z_end - z_begin),
      out_width_(width),
      scale_(1),
      z_begin_(z_begin),
      whole_(z_begin == 0 && z_end == cfg.latent_dim),
      bilinear_(false),
      enabled_(true),
      dropout_(0.0) {
  require(z_begin >= 0 && z_begin < z_end && z_end <= cfg.latent_dim, "projection slice out of the latent range");
  require(width >= 1, "projection width must be >= 1");
  linear_ = register_module(
      "linear", torch::nn::Linear(in_dim_, static_cast<std::int64_t>(out_width_) * out_width_ * gf_));
}

torch::Tensor GanProjectionImpl::forward(const torch::Tensor& z) {
  if (!enabled_) return {};
  torch::Tensor h = whole_ ? z : z.slice(1, z_begin_, z_begin_ + in_dim_);
  h = linear_->forward(h).view({-1, gf_, out_width_, out_width_});
  if (scale_ > 1) {
    auto opts = F::InterpolateFuncOptions().scale_factor(
        std::vector<double>{static_cast<double>(scale_), static_cast<double>(scale_)});
    if (bilinear_)
      opts.mode(torch::kBilinear).align_corners(false);
    else
      opts.mode(torch::kNearest);
    h = F::interpolate(h, opts);
  }
  if (dropout_ > 0.0) h = F::dropout(h, F::DropoutFuncOptions().p(dropout_).training(is_training()));
  return h;
}

GanCellImpl::GanCellImpl(const std::vector<int>& genes, int channels, bool bilinear_skip,
                         int n_skip_in)
    : bilinear_skip_(bilinear_skip) {
  require(genes.size() == 7, "a cell takes 7 genes [up0, up1, c0..c4]");
  for (int u = 0; u < 2; ++u) {
    require(genes[u] >= 0 && genes[u] < 3, "up op option must be 0..2");
    up_[u] = register_module("up" + std::to_string(u), std::make_shared<UpOp>(genes[u], channels));
  }
  for (int c = 0; c < 5; ++c) {
    c_[c] = make_edge_op(genes[2 + c], channels, false);
    if (c_[c]) register_module("c" + std::to_string(c), c_[c]);
  }
  if (n_skip_in > 0) {
    auto list = register_module("skip_in", torch::nn::ModuleList());
    for (int j = 0; j < n_skip_in; ++j) {
      skip_in_.push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 1)));
      list->push_back(skip_in_.back());
    }
  }
}

std::pair<torch::Tensor, torch::Tensor> GanCellImpl::forward(
    const torch::Tensor& x, const std::vector<torch::Tensor>& skip_in) {
  if (skip_in.size() != skip_in_.size())
    throw std::invalid_argument("gan model: cell expects " + std::to_string(skip_in_.size()) +
                                " skip-in features, got " + std::to_string(skip_in.size()));
  const torch::Tensor node0 = up_[0]->forward(x);
  const torch::Tensor node1 = up_[1]->forward(x);
  torch::Tensor node2;
  if (c_[0] || c_[1]) {
    if (c_[0]) node2 = c_[0]->forward(node0);
    if (c_[1]) node2 = sum_defined(node2, c_[1]->forward(node1));
  } else {
    node2 = node0 + node1;
  }
  // Released code: h_skip_out aliases node2 and the skip-ins are added in place, so skip_out
  // carries them too (Q5 in docs/algorithm.md). Out of place here, with skip_out taken after the
  // additions.
  for (std::size_t j = 0; j < skip_in_.size(); ++j)
    node2 = node2 + skip_in_[j]->forward(
                        resize(skip_in[j], node0.size(2), node0.size(3), bilinear_skip_));
  const torch::Tensor skip_out = node2;
  torch::Tensor node3;
  if (c_[2]) node3 = c_[2]->forward(node0);
  if (c_[3]) node3 = sum_defined(node3, c_[3]->forward(node1));
  if (c_[4]) node3 = sum_defined(node3, c_[4]->forward(node2));
  if (!node3.defined()) node3 = node2;
  return {skip_out, node3};
}

GanGeneratorImpl::GanGeneratorImpl(GanSpaceKind kind, const Genome& genome,
                                   const GanModelConfig& cfg)
    : latent_dim_(cfg.latent_dim) {
  validate_model_config(cfg);
  const bool hard = kind == GanSpaceKind::Hard;
  require(genome.size() == (hard ? 72u : 21u),
          "the generator needs a full " + std::string(hard ? "gan_hard (72" : "gan_easy (21") +
              " genes) genome, got " + std::to_string(genome.size()) + " genes");
  require(!(hard && cfg.stl_projections), "stl_projections applies to gan_easy only (GanHard searches its projections)");
  auto projections = register_module(hard ? "projections" : "fixed_projections",
                                     torch::nn::ModuleList());
  for (int i = 0; i < 3; ++i) {
    std::shared_ptr<GanProjectionImpl> p;
    if (hard) {
      const std::size_t base = i == 0 ? 0 : 4 * i - 1;  // genes 0-2, 3-6, 7-10
      const bool enabled = i == 0 || option(genome, base, 2) == 1;
      const std::size_t g = i == 0 ? base : base + 1;
      const int linear = option(genome, g, 6);
      const int up_mode = option(genome, g + 1, 2);
      const double dropout = 0.1 * option(genome, g + 2, 3);
      p = std::make_shared<GanProjectionImpl>(i, linear, up_mode, dropout, enabled, cfg);
    } else if (cfg.stl_projections) {
      // Released `if_stl_projections`: z halves -> bottom and 2 bottom wide maps, no third one.
      if (i == 2) break;
      const int half = cfg.latent_dim / 2;
      p = std::make_shared<GanProjectionImpl>(i * half, (i + 1) * half, cfg.bottom_width << i, cfg);
    } else {
      p = std::make_shared<GanProjectionImpl>(i, 5 /* part_target */, 0, 0.0, true, cfg);
    }
    projections->push_back(p);
    projections_.push_back(p);
  }
  const std::size_t cell_base = hard ? 11 : 0;
  for (int k = 0; k < 3; ++k) {
    std::vector<int> genes(genome.begin() + cell_base + 7 * k,
                           genome.begin() + cell_base + 7 * (k + 1));
    for (int i = 0; i < 7; ++i) option(genome, cell_base + 7 * k + i, i < 2 ? 3 : 7);
    cells_[k] = register_module("cell" + std::to_string(k + 1),
                                std::make_shared<GanCellImpl>(genes, cfg.gf_dim, k == 1, k));
  }
  auto to_rgb = register_module("to_rgb", std::make_shared<torch::nn::Module>());
  to_rgb_bn_ = to_rgb->register_module("bn", torch::nn::BatchNorm2d(cfg.gf_dim));
  to_rgb_conv_ = to_rgb->register_module(
      "conv", torch::nn::Conv2d(
                  torch::nn::Conv2dOptions(cfg.gf_dim, cfg.image_channels, 3).padding(1)));
}

torch::Tensor GanGeneratorImpl::forward(const torch::Tensor& z) {
  if (z.dim() != 2 || z.size(1) != latent_dim_)
    throw std::invalid_argument("gan generator: z must be N x " + std::to_string(latent_dim_) +
                                ", got " + c10::str(z.sizes()));
  std::vector<torch::Tensor> p;
  for (auto& proj : projections_) p.push_back(proj->forward(z));
  p.resize(3);  // the STL-10 projections have no third one (undefined: nothing is added)
  auto [h1_skip, h1] = cells_[0]->forward(p[0], {});
  if (p[1].defined()) h1 = h1 + p[1];
  auto [h2_skip, h2] = cells_[1]->forward(h1, {h1_skip});
  if (p[2].defined()) h2 = h2 + p[2];
  auto h3 = cells_[2]->forward(h2, {h1_skip, h2_skip}).second;
  return torch::tanh(to_rgb_conv_->forward(torch::relu(to_rgb_bn_->forward(h3))));
}

}  // namespace pbtnas::gan
