#pragma once
// The searchable CNN of the built-in classification task (docs/tasks.md):
//   stem -> [stage 0 cells] -> reduce.0 -> [stage 1 cells] -> reduce.1 -> [stage 2 cells] -> head
// The stem and both reductions have stride 2 (28x28 input: stages at 14x14, 7x7, 4x4; H x W
// input: ceil(H/2), ceil(H/4), ceil(H/8)); the stem takes any channel count and the head gives
// any class count, so the genes and their tensors do not depend on the data set.
// Stage widths C, 2C, 4C (C = ClassifyOptions::channels); each stage holds `cells_per_stage`
// cells with three genes each (op, norm, act). Module names are stable:
//   stem.conv.weight, stem.bn.*, cells.<i>.op.<...>, cells.<i>.norm.*, reduce.<s>.conv.weight,
//   reduce.<s>.bn.*, head.weight, head.bias.
// Tensors under "cells.<i>.op" depend only on gene cell<i>.op (and the widths), tensors under
// "cells.<i>.norm" only on cell<i>.norm; everything else is the same for every genome.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "pbtnas/tasks/classify/classify_options.hpp"
#include "pbtnas/core/search_space.hpp"

namespace pbtnas::classify {

enum class CellOp {
  Identity,
  Conv3x3,
  Conv5x5,
  DilConv3x3,
  SepConv3x3,
  SepConv5x5,
  Residual3x3,
  MaxPool3x3
};
enum class CellNorm { BatchNorm, None };
enum class CellAct { Relu, Silu, Tanh, LeakyRelu };

// Option names in gene order (the option index in a Genome indexes these lists).
const std::vector<std::string>& cell_op_names();
const std::vector<std::string>& cell_norm_names();
const std::vector<std::string>& cell_act_names();

// "classify_cnn": genes cell<i>.op, cell<i>.norm, cell<i>.act for i = 0 .. 3*cells_per_stage-1,
// in that order. Throws std::invalid_argument when channels or cells_per_stage are < 1.
SearchSpace classify_search_space(const ClassifyOptions& cfg);

// Base of the interchangeable cell operations (C -> C channels, same spatial size).
class CellOpImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

class CellImpl : public torch::nn::Module {
 public:
  CellImpl(int channels, CellOp op, CellNorm norm, CellAct act);
  // x + act(norm(op(x)))
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::shared_ptr<CellOpImpl> op_;
  torch::nn::BatchNorm2d norm_{nullptr};  // null for CellNorm::None
  CellAct act_;
};

class ConvBnImpl : public torch::nn::Module {
 public:
  ConvBnImpl(int in, int out, int stride);
  torch::Tensor forward(const torch::Tensor& x);  // relu(bn(conv(x)))

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};

class ClassifyNetImpl : public torch::nn::Module {
 public:
  // genome: validated against classify_search_space(cfg) by the caller.
  // in_channels: the images' channels (the stem's input); n_classes: the head's outputs.
  ClassifyNetImpl(const Genome& genome, const ClassifyOptions& cfg, int n_classes = 10, int in_channels = 1);
  torch::Tensor forward(const torch::Tensor& x);  // N x in_channels x H x W -> N x n_classes logits

 private:
  std::shared_ptr<ConvBnImpl> stem_;
  std::vector<std::shared_ptr<CellImpl>> cells_;
  std::vector<std::shared_ptr<ConvBnImpl>> reduce_;
  torch::nn::Linear head_{nullptr};
  int cells_per_stage_;
};

// Deterministic initialisation of every parameter and buffer from `init_seed` alone: each tensor
// draws from its own local CPU generator seeded by (init_seed, tensor name). Conv weights:
// He-uniform U(-sqrt(6/fan_in), +); Linear weight and bias: U(-1/sqrt(fan_in), +); BatchNorm:
// weight 1, bias 0, running mean 0, running var 1, counter 0. Never touches the global RNG.
// The module must be on the CPU. Throws std::logic_error if a parameter is of an unknown kind.
void init_classify_net(torch::nn::Module& net, std::uint64_t init_seed);


}  // namespace pbtnas::classify
