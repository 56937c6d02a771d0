// The PBT-NAS discriminators (AutoGAN-D and the GanHard D of docs/algorithm.md, "GAN search
// spaces"), GanNet and the initialisation of "GAN training recipe".

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "pbtnas/tasks/gan/gan_models.hpp"
#include "pbtnas/nn/batch_norm_init.hpp"
#include "pbtnas/nn/tensor_seed.hpp"
#include "pbtnas/tasks/gan/gan_spaces.hpp"
#include "pbtnas/tasks/gan/spectral_norm.hpp"

namespace pbtnas::gan {
namespace {

namespace F = torch::nn::functional;

torch::Tensor avg_pool2(const torch::Tensor& x) {
  return F::avg_pool2d(x, F::AvgPool2dFuncOptions(2).stride(2));
}

SNConv2d sn_conv(int in, int out, int k) {
  return SNConv2d(SNConv2dOptions(in, out, k).padding((k - 1) / 2));
}

// ReLU, global sum pooling over H and W, SN linear without bias (l5).
torch::Tensor head(SNLinear& l5, const torch::Tensor& h) {
  return l5->forward(torch::relu(h).sum({2, 3}));
}

// AutoGAN-D blocks: children c1, c2 (3x3) and c_sc (1x1, when learnable).
class AutoGanBlock : public torch::nn::Module {
 public:
  AutoGanBlock(int in, int out, bool optimized, bool downsample)
      : optimized_(optimized), downsample_(downsample) {
    c1_ = register_module("c1", sn_conv(in, out, 3));
    c2_ = register_module("c2", sn_conv(out, out, 3));
    if (optimized || downsample || in != out) c_sc_ = register_module("c_sc", sn_conv(in, out, 1));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    if (optimized_) {  // conv, ReLU, conv, pool; shortcut pool then 1x1
      const torch::Tensor r = avg_pool2(c2_->forward(torch::relu(c1_->forward(x))));
      return r + c_sc_->forward(avg_pool2(x));
    }
    torch::Tensor r = c2_->forward(torch::relu(c1_->forward(torch::relu(x))));
    if (downsample_) r = avg_pool2(r);
    torch::Tensor s = x;
    if (c_sc_) {
      s = c_sc_->forward(x);
      if (downsample_) s = avg_pool2(s);
    }
    return r + s;
  }

 private:
  SNConv2d c1_{nullptr}, c2_{nullptr}, c_sc_{nullptr};
  bool optimized_, downsample_;
};

class AutoGanDiscriminator : public GanDiscriminatorImpl {
 public:
  explicit AutoGanDiscriminator(const GanModelConfig& cfg) {
    const int ch = cfg.df_dim;
    blocks_[0] = register_module("block1", std::make_shared<AutoGanBlock>(cfg.image_channels, ch, true, true));
    blocks_[1] = register_module("block2", std::make_shared<AutoGanBlock>(ch, ch, false, true));
    blocks_[2] = register_module("block3", std::make_shared<AutoGanBlock>(ch, ch, false, false));
    blocks_[3] = register_module("block4", std::make_shared<AutoGanBlock>(ch, ch, false, false));
    l5_ = register_module("l5", SNLinear(SNLinearOptions(ch, 1).bias(false)));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor h = x;
    for (auto& b : blocks_) h = b->forward(h);
    return head(l5_, h);
  }

 private:
  std::shared_ptr<AutoGanBlock> blocks_[4];
  SNLinear l5_{nullptr};
};

class PoolOp : public GanOpImpl {
 public:
  explicit PoolOp(bool max) : max_(max) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    return max_ ? F::max_pool2d(x, F::MaxPool2dFuncOptions(2).stride(2)) : avg_pool2(x);
  }

 private:
  bool max_;
};

// Down op `option` of down_op_names(): pools, or ReLU -> SN conv with stride 2.
std::shared_ptr<GanOpImpl> make_down_op(int option, int ch) {
  static const int kernel[] = {0, 0, 0, 0, 3, 5, 3, 5};
  if (option < 0 || option > 7)
    throw std::invalid_argument("gan model: down op option " + std::to_string(option) +
                                " out of range 0..7");
  if (option < 4) return std::make_shared<PoolOp>(option % 2 == 1);
  return make_conv_op(ch, ch, kernel[option], option >= 6 ? 2 : 1, 2, true, true);
}

// GanHard D block (docs/algorithm.md, "GanHard discriminator block"): genes [c0..c6, downsample,
// down0, down1].
class GanHardBlock : public torch::nn::Module {
 public:
  GanHardBlock(const int* genes, int in, int ch, bool first, bool faithful) : faithful_(faithful) {
    static const int kernel[] = {1, 3, 5, 3, 5};
    for (int i = 0; i < 7; ++i) {
      std::shared_ptr<GanOpImpl> op;
      if (first && i < 3) {  // reads the image, no pre-activation, 5 options
        const int o = genes[i];
        if (o < 0 || o > 4)
          throw std::invalid_argument("gan model: D block1 input op option out of range 0..4");
        op = make_conv_op(in, ch, kernel[o], o >= 3 ? 2 : 1, 1, false, true);
      } else {
        op = make_edge_op(genes[i], ch, true);
      }
      if (op) c_[i] = register_module("c" + std::to_string(i), op);
    }
    if (genes[7] < 0 || genes[7] > 1)
      throw std::invalid_argument("gan model: D downsample option out of range 0..1");
    downsample_ = genes[7] == 1;
    for (int j = 0; j < 2; ++j) {
      down_[j] = register_module("down" + std::to_string(j), make_down_op(genes[8 + j], ch));
      on_input_[j] = genes[8 + j] < 2;
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    if (!c_[0] && !c_[1] && !c_[2]) return x;
    torch::Tensor n[3];
    for (int i = 0; i < 3; ++i)
      if (c_[i]) n[i] = c_[i]->forward(x);
    // Branch j (1 or 2): node n[j], extra op c[2 + j] from n0, output op c[4 + j], down[j - 1].
    for (int j = 1; j <= 2; ++j) {
      if (!n[j].defined()) continue;
      const bool down_in = downsample_ && on_input_[j - 1];
      if (down_in) n[j] = down_[j - 1]->forward(n[j]);
      if (c_[2 + j] && n[0].defined()) {
        torch::Tensor t = c_[2 + j]->forward(n[0]);
        if (down_in) t = down_[j - 1]->forward(t);
        n[j] = n[j] + t;
      }
      if (c_[4 + j]) n[j] = c_[4 + j]->forward(n[j]);
    }
    if (!n[1].defined() && !n[2].defined()) return n[0];
    for (int j = 1; j <= 2; ++j)
      if (n[j].defined() && downsample_ && !on_input_[j - 1]) n[j] = down_[j - 1]->forward(n[j]);
    if (!n[1].defined()) return n[2];
    if (!n[2].defined()) return n[1];
    // Released code: the sum is overwritten by branch 1 (B1 in docs/algorithm.md); branch 2 is
    // still computed.
    return faithful_ ? n[1] : n[1] + n[2];
  }

 private:
  std::shared_ptr<GanOpImpl> c_[7];
  std::shared_ptr<GanOpImpl> down_[2];
  bool on_input_[2] = {false, false};
  bool downsample_ = false;
  bool faithful_;
};

class GanHardDiscriminator : public GanDiscriminatorImpl {
 public:
  GanHardDiscriminator(const Genome& genome, const GanModelConfig& cfg) {
    if (genome.size() != 72)
      throw std::invalid_argument("gan model: the GanHard discriminator needs the full 72-gene "
                                  "gan_hard genome, got " + std::to_string(genome.size()));
    for (int b = 0; b < 4; ++b)
      blocks_[b] = register_module(
          "block" + std::to_string(b + 1),
          std::make_shared<GanHardBlock>(genome.data() + 32 + 10 * b,
                                         b == 0 ? cfg.image_channels : cfg.df_dim, cfg.df_dim,
                                         b == 0, cfg.faithful_d_block));
    l5_ = register_module("l5", SNLinear(SNLinearOptions(cfg.df_dim, 1).bias(false)));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor h = x;
    for (auto& b : blocks_) h = b->forward(h);
    return head(l5_, h);
  }

 private:
  std::shared_ptr<GanHardBlock> blocks_[4];
  SNLinear l5_{nullptr};
};


double fan_in_of(const torch::Tensor& w) { return static_cast<double>(w[0].numel()); }

}  // namespace

std::shared_ptr<GanDiscriminatorImpl> make_autogan_discriminator(const GanModelConfig& cfg) {
  validate_model_config(cfg);
  return std::make_shared<AutoGanDiscriminator>(cfg);
}

std::shared_ptr<GanDiscriminatorImpl> make_gan_hard_discriminator(const Genome& genome,
                                                                  const GanModelConfig& cfg) {
  validate_model_config(cfg);
  return std::make_shared<GanHardDiscriminator>(genome, cfg);
}

GanNetImpl::GanNetImpl(GanSpaceKind kind, const Genome& genome, const GanModelConfig& cfg) {
  validate_model_config(cfg);
  const SearchSpace space = kind == GanSpaceKind::Easy ? gan_easy_space() : gan_hard_space();
  space.validate(genome);
  generator = register_module("generator", std::make_shared<GanGeneratorImpl>(kind, genome, cfg));
  discriminator = register_module("discriminator", kind == GanSpaceKind::Easy
                                                       ? make_autogan_discriminator(cfg)
                                                       : make_gan_hard_discriminator(genome, cfg));
}

void init_gan_net(torch::nn::Module& net, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  std::size_t done = 0;
  auto check_cpu = [](const torch::Tensor& t, const std::string& name) {
    if (!t.device().is_cpu())
      throw std::logic_error("gan model: init_gan_net needs a CPU module (" + name + " is on " +
                             t.device().str() + "); initialise before moving it");
  };
  auto uniform = [&](torch::Tensor& t, const std::string& name, double bound) {
    check_cpu(t, name);
    t.uniform_(-bound, bound, tensor_generator(seed, name));
    ++done;
  };
  auto xavier = [&](torch::Tensor& w, const std::string& name) {  // gain 1, conv weight
    const double rf = static_cast<double>(w[0][0].numel());
    uniform(w, name, std::sqrt(6.0 / (static_cast<double>(w.size(1) + w.size(0)) * rf)));
  };
  // The root itself (which may live on the stack) first, then every descendant.
  std::vector<std::pair<std::string, torch::nn::Module*>> modules{{"", &net}};
  for (const auto& item : net.named_modules("", /*include_self=*/false))
    modules.emplace_back(item.key(), item.value().get());
  for (const auto& [prefix, m] : modules) {
    if (auto* c = dynamic_cast<torch::nn::Conv2dImpl*>(m)) {
      xavier(c->weight, join_name(prefix, "weight"));
      if (c->bias.defined())
        uniform(c->bias, join_name(prefix, "bias"), 1.0 / std::sqrt(fan_in_of(c->weight)));
    } else if (auto* t = dynamic_cast<torch::nn::ConvTranspose2dImpl*>(m)) {
      // Not matched by the released init ("ConvTranspose2d" lacks "Conv2d"): PyTorch's default,
      // fan_in = weight.size(1) * k * k = (out / groups) * k * k.
      const double bound = 1.0 / std::sqrt(fan_in_of(t->weight));
      uniform(t->weight, join_name(prefix, "weight"), bound);
      if (t->bias.defined()) uniform(t->bias, join_name(prefix, "bias"), bound);
    } else if (auto* l = dynamic_cast<torch::nn::LinearImpl*>(m)) {
      const double bound = 1.0 / std::sqrt(fan_in_of(l->weight));
      uniform(l->weight, join_name(prefix, "weight"), bound);
      if (l->bias.defined()) uniform(l->bias, join_name(prefix, "bias"), bound);
    } else if (auto* s = dynamic_cast<SpectralNormImplBase*>(m)) {
      const double bound = 1.0 / std::sqrt(fan_in_of(s->weight_orig));
      if (dynamic_cast<SNConv2dImpl*>(m))
        xavier(s->weight_orig, join_name(prefix, "weight_orig"));
      else
        uniform(s->weight_orig, join_name(prefix, "weight_orig"), bound);
      if (s->bias.defined()) uniform(s->bias, join_name(prefix, "bias"), bound);
      check_cpu(s->weight_u, join_name(prefix, "weight_u"));
      s->init_vectors(tensor_generator(seed, join_name(prefix, "weight_u")));
    } else if (auto* b = dynamic_cast<torch::nn::BatchNorm2dImpl*>(m)) {
      done += init_batch_norm(*b, [&, prefix = prefix](torch::Tensor& w) {
        check_cpu(w, join_name(prefix, "weight"));
        w.normal_(1.0, 0.02, tensor_generator(seed, join_name(prefix, "weight")));
      });
    }
  }
  if (done != net.parameters().size())
    throw std::logic_error("gan model: init_gan_net initialised " + std::to_string(done) + " of " +
                           std::to_string(net.parameters().size()) +
                           " parameters; a module kind is missing from the initialiser");
}

}  // namespace pbtnas::gan
