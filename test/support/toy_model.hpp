#pragma once
// A small network for the nn tests: eleven searchable cells (so that "cells.1" and "cells.10"
// coexist), a fixed BatchNorm1d "norm" and a fixed linear "head".
//   cell option 0: Linear(W, W) -> act -> Linear(W, W)        (4 tensors)
//   cell option 1: Linear(W, 2W) -> act -> Linear(2W, W)      (4 tensors, other shapes)
//   cell option 2: Linear(W, W, no bias) -> act -> Linear(W, W) (3 tensors: count changes)
// Gene 11 ("act") is weightless: relu (0) or tanh (1).
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "pbtnas/nn/member.hpp"
#include "pbtnas/core/search_space.hpp"

namespace pbtnas::test {

constexpr int kToyCells = 11;
constexpr int kToyWidth = 4;

struct ToyNetImpl : torch::nn::Module {
  explicit ToyNetImpl(const Genome& genome) : genome_(genome) {
    for (int i = 0; i < kToyCells; ++i) {
      const int opt = genome.at(static_cast<std::size_t>(i));
      const int hidden = opt == 1 ? 2 * kToyWidth : kToyWidth;
      torch::nn::Sequential cell(
          torch::nn::Linear(torch::nn::LinearOptions(kToyWidth, hidden).bias(opt != 2)),
          torch::nn::Linear(hidden, kToyWidth));
      cells->push_back(cell);
    }
    register_module("cells", cells);
    norm = register_module("norm", torch::nn::BatchNorm1d(kToyWidth));
    head = register_module("head", torch::nn::Linear(kToyWidth, 2));
  }

  torch::Tensor forward(torch::Tensor x) {
    const bool tanh = genome_.at(kToyCells) == 1;
    for (const auto& m : *cells) {
      auto& seq = *m->as<torch::nn::SequentialImpl>();
      auto h = seq[0]->as<torch::nn::LinearImpl>()->forward(x);
      h = tanh ? torch::tanh(h) : torch::relu(h);
      x = x + seq[1]->as<torch::nn::LinearImpl>()->forward(h);
    }
    return head->forward(norm->forward(x));
  }

  Genome genome_;
  torch::nn::ModuleList cells;
  torch::nn::BatchNorm1d norm{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(ToyNet);

inline SearchSpace toy_space() {
  std::vector<Gene> genes;
  for (int i = 0; i < kToyCells; ++i)
    genes.push_back({"cell" + std::to_string(i), {"narrow", "wide", "nobias"}, {"cells." + std::to_string(i)}, false});
  genes.push_back({"act", {"relu", "tanh"}, {}, true});
  return SearchSpace("toy", std::move(genes));
}

inline Genome toy_genome(int cell_option = 0) { return Genome(kToyCells + 1, cell_option); }

// A member with a ToyNet initialised from `seed`, an optional average (a copy of the model) and
// one AdamW optimizer over the model's parameters.
inline Member make_toy_member(const Genome& genome, std::uint64_t seed, bool with_average = true,
                              bool amsgrad = false) {
  torch::manual_seed(seed);
  Member m;
  m.genome = genome;
  ToyNet net(genome);
  m.model = net.ptr();
  if (with_average) {
    ToyNet avg(genome);
    torch::NoGradGuard no_grad;
    auto src = net->named_parameters();
    for (auto& p : avg->named_parameters()) p.value().copy_(src[p.key()]);
    auto srcb = net->named_buffers();
    for (auto& b : avg->named_buffers()) b.value().copy_(srcb[b.key()]);
    m.average = avg.ptr();
  }
  m.optimizers.push_back(std::make_unique<torch::optim::AdamW>(
      net->parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.01).amsgrad(amsgrad)));
  return m;
}

// A few real training steps on random data so that the optimizer has moments and steps.
inline void train_toy_member(Member& m, int steps, std::uint64_t seed) {
  torch::manual_seed(seed);
  auto* net = dynamic_cast<ToyNetImpl*>(m.model.get());
  net->train();
  for (int s = 0; s < steps; ++s) {
    auto x = torch::randn({8, kToyWidth});
    auto y = torch::randn({8, 2});
    for (auto& opt : m.optimizers) opt->zero_grad();
    auto loss = torch::mse_loss(net->forward(x), y);
    loss.backward();
    for (auto& opt : m.optimizers) opt->step();
  }
}

}  // namespace pbtnas::test
