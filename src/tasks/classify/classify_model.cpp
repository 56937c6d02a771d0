#include "pbtnas/tasks/classify/classify_model.hpp"
#include "pbtnas/nn/batch_norm_init.hpp"
#include "pbtnas/nn/tensor_seed.hpp"


#include <cmath>
#include <stdexcept>

namespace pbtnas::classify {
namespace {

namespace F = torch::nn::functional;

torch::nn::Conv2d conv(int in, int out, int k, int stride = 1, int dilation = 1, int groups = 1) {
  const int pad = dilation * (k - 1) / 2;
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k)
                               .stride(stride)
                               .padding(pad)
                               .dilation(dilation)
                               .groups(groups)
                               .bias(false));
}

class IdentityOp : public CellOpImpl {
 public:
  torch::Tensor forward(const torch::Tensor& x) override { return x; }
};

class ConvOp : public CellOpImpl {  // "conv.weight"
 public:
  ConvOp(int c, int k, int dilation) : conv_(register_module("conv", conv(c, c, k, 1, dilation))) {}
  torch::Tensor forward(const torch::Tensor& x) override { return conv_->forward(x); }

 private:
  torch::nn::Conv2d conv_;
};

class SepConvOp : public CellOpImpl {  // "depthwise.weight", "pointwise.weight"
 public:
  SepConvOp(int c, int k)
      : depthwise_(register_module("depthwise", conv(c, c, k, 1, 1, c))),
        pointwise_(register_module("pointwise", conv(c, c, 1))) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    return pointwise_->forward(depthwise_->forward(x));
  }

 private:
  torch::nn::Conv2d depthwise_, pointwise_;
};

class ResidualOp : public CellOpImpl {  // x + conv2(relu(conv1(x)))
 public:
  explicit ResidualOp(int c)
      : conv1_(register_module("conv1", conv(c, c, 3))),
        conv2_(register_module("conv2", conv(c, c, 3))) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    return x + conv2_->forward(torch::relu(conv1_->forward(x)));
  }

 private:
  torch::nn::Conv2d conv1_, conv2_;
};

class MaxPoolOp : public CellOpImpl {
 public:
  torch::Tensor forward(const torch::Tensor& x) override {
    return F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(1).padding(1));
  }
};

std::shared_ptr<CellOpImpl> make_op(CellOp op, int c) {
  switch (op) {
    case CellOp::Identity:
      return std::make_shared<IdentityOp>();
    case CellOp::Conv3x3:
      return std::make_shared<ConvOp>(c, 3, 1);
    case CellOp::Conv5x5:
      return std::make_shared<ConvOp>(c, 5, 1);
    case CellOp::DilConv3x3:
      return std::make_shared<ConvOp>(c, 3, 2);
    case CellOp::SepConv3x3:
      return std::make_shared<SepConvOp>(c, 3);
    case CellOp::SepConv5x5:
      return std::make_shared<SepConvOp>(c, 5);
    case CellOp::Residual3x3:
      return std::make_shared<ResidualOp>(c);
    case CellOp::MaxPool3x3:
      return std::make_shared<MaxPoolOp>();
  }
  throw std::logic_error("classify model: unknown cell op");
}


}  // namespace

const std::vector<std::string>& cell_op_names() {
  static const std::vector<std::string> names{"identity",    "conv3x3",    "conv5x5",
                                              "dilconv3x3",  "sepconv3x3", "sepconv5x5",
                                              "residual3x3", "maxpool3x3"};
  return names;
}
const std::vector<std::string>& cell_norm_names() {
  static const std::vector<std::string> names{"batchnorm", "none"};
  return names;
}
const std::vector<std::string>& cell_act_names() {
  static const std::vector<std::string> names{"relu", "silu", "tanh", "leaky_relu"};
  return names;
}

SearchSpace classify_search_space(const ClassifyOptions& cfg) {
  cfg.validate();
  std::vector<Gene> genes;
  const int n_cells = 3 * cfg.cells_per_stage;
  for (int i = 0; i < n_cells; ++i) {
    const std::string cell = "cell" + std::to_string(i);
    const std::string module = "cells." + std::to_string(i);
    genes.push_back(Gene{cell + ".op", cell_op_names(), {module + ".op"}, false});
    genes.push_back(Gene{cell + ".norm", cell_norm_names(), {module + ".norm"}, false});
    genes.push_back(Gene{cell + ".act", cell_act_names(), {}, true});
  }
  return SearchSpace("classify_cnn", std::move(genes));
}

CellImpl::CellImpl(int channels, CellOp op, CellNorm norm, CellAct act) : act_(act) {
  op_ = register_module("op", make_op(op, channels));
  if (norm == CellNorm::BatchNorm)
    norm_ = register_module("norm", torch::nn::BatchNorm2d(channels));
}

torch::Tensor CellImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = op_->forward(x);
  if (norm_) y = norm_->forward(y);
  switch (act_) {
    case CellAct::Relu:
      y = torch::relu(y);
      break;
    case CellAct::Silu:
      y = torch::silu(y);
      break;
    case CellAct::Tanh:
      y = torch::tanh(y);
      break;
    case CellAct::LeakyRelu:
      y = torch::leaky_relu(y, 0.01);
      break;
  }
  return x + y;
}

ConvBnImpl::ConvBnImpl(int in, int out, int stride)
    : conv_(register_module("conv", conv(in, out, 3, stride))),
      bn_(register_module("bn", torch::nn::BatchNorm2d(out))) {}

torch::Tensor ConvBnImpl::forward(const torch::Tensor& x) {
  return torch::relu(bn_->forward(conv_->forward(x)));
}

ClassifyNetImpl::ClassifyNetImpl(const Genome& genome, const ClassifyOptions& cfg, int n_classes, int in_channels)
    : cells_per_stage_(cfg.cells_per_stage) {
  const int n_cells = 3 * cfg.cells_per_stage;
  if (static_cast<int>(genome.size()) != 3 * n_cells)
    throw std::invalid_argument("classify model: genome has " + std::to_string(genome.size()) +
                                " genes, expected " + std::to_string(3 * n_cells) +
                                " (3 per cell); build it from classify_search_space(cfg)");
  const int c = cfg.channels;
  stem_ = register_module("stem", std::make_shared<ConvBnImpl>(in_channels, c, 2));  // 28x28 -> 14x14
  auto cells = register_module("cells", torch::nn::ModuleList());
  auto reduce = register_module("reduce", torch::nn::ModuleList());
  for (int i = 0; i < n_cells; ++i) {
    const int width = c << (i / cfg.cells_per_stage);
    auto cell = std::make_shared<CellImpl>(width, static_cast<CellOp>(genome[3 * i]),
                                           static_cast<CellNorm>(genome[3 * i + 1]),
                                           static_cast<CellAct>(genome[3 * i + 2]));
    cells->push_back(cell);
    cells_.push_back(cell);
  }
  for (int s = 0; s < 2; ++s) {
    auto r = std::make_shared<ConvBnImpl>(c << s, c << (s + 1), 2);
    reduce->push_back(r);
    reduce_.push_back(r);
  }
  head_ = register_module("head", torch::nn::Linear(4 * c, n_classes));
}

torch::Tensor ClassifyNetImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = stem_->forward(x);
  for (std::size_t i = 0; i < cells_.size(); ++i) {
    h = cells_[i]->forward(h);
    const std::size_t stage = i / cells_per_stage_;
    if ((i + 1) % cells_per_stage_ == 0 && stage < reduce_.size()) h = reduce_[stage]->forward(h);
  }
  h = h.mean({2, 3});  // global average pool
  return head_->forward(h);
}

void init_classify_net(torch::nn::Module& net, std::uint64_t init_seed) {
  torch::NoGradGuard no_grad;
  std::size_t done = 0;
  auto uniform = [&](torch::Tensor& t, const std::string& name, double bound) {
    if (!t.device().is_cpu())
      throw std::logic_error("classify model: init_classify_net needs a CPU module (" + name +
                             " is on " + t.device().str() + "); initialise before moving it");
    t.uniform_(-bound, bound, tensor_generator(init_seed, name));
    ++done;
  };
  for (const auto& item : net.named_modules()) {
    const std::string& prefix = item.key();
    torch::nn::Module* m = item.value().get();
    if (auto* c = dynamic_cast<torch::nn::Conv2dImpl*>(m)) {
      const auto& w = c->weight;
      const double fan_in = static_cast<double>(w.size(1) * w.size(2) * w.size(3));
      uniform(c->weight, join_name(prefix, "weight"), std::sqrt(6.0 / fan_in));
      if (c->bias.defined()) uniform(c->bias, join_name(prefix, "bias"), 1.0 / std::sqrt(fan_in));
    } else if (auto* l = dynamic_cast<torch::nn::LinearImpl*>(m)) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(l->weight.size(1)));
      uniform(l->weight, join_name(prefix, "weight"), bound);
      if (l->bias.defined()) uniform(l->bias, join_name(prefix, "bias"), bound);
    } else if (auto* b = dynamic_cast<torch::nn::BatchNorm2dImpl*>(m)) {
      done += init_batch_norm(*b, [](torch::Tensor& w) { w.fill_(1.0); });
    }
  }
  if (done != net.parameters().size())
    throw std::logic_error("classify model: init_classify_net initialised " + std::to_string(done) +
                           " of " + std::to_string(net.parameters().size()) +
                           " parameters; a module kind is missing from the initialiser");
}

}  // namespace pbtnas::classify
