#pragma once
// The toy task's network for the nn tests (tasks/toy/toy_task.hpp): eleven searchable cells (so
// that "cells.1" and "cells.10" coexist), a fixed BatchNorm1d "norm" and a fixed linear "head";
// gene 11 ("act") is weightless. Plus helpers to make and train members by hand.
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "pbtnas/nn/member.hpp"
#include "pbtnas/core/search_space.hpp"
#include "pbtnas/tasks/toy/toy_task.hpp"

namespace pbtnas::test {

using toy::kToyCells;
using toy::kToyWidth;
using toy::ToyNet;
using toy::ToyNetImpl;
using toy::toy_space;

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
