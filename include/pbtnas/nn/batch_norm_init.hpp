#pragma once
// The BatchNorm part of the tasks' network initialisers (the classify task's init_classify_net,
// the GAN task's init_gan_net): written once so that both reset the same state the same way.
#include <cstddef>

#include <torch/nn/modules/batchnorm.h>

namespace pbtnas {

// Initialises a BatchNorm2d in place (call it under a torch::NoGradGuard): the weight by
// `init_weight(weight)` (each task has its own rule), the bias to 0, the running mean to 0, the
// running variance to 1 and the count of batches tracked to 0. Returns the number of parameters
// set (the weight and the bias where defined), for the initialiser's check that it covered every
// parameter of the network.
template <class InitWeight>
std::size_t init_batch_norm(torch::nn::BatchNorm2dImpl& b, InitWeight&& init_weight) {
  std::size_t done = 0;
  if (b.weight.defined()) {
    init_weight(b.weight);
    ++done;
  }
  if (b.bias.defined()) {
    b.bias.zero_();
    ++done;
  }
  if (b.running_mean.defined()) b.running_mean.zero_();
  if (b.running_var.defined()) b.running_var.fill_(1.0);
  if (b.num_batches_tracked.defined()) b.num_batches_tracked.zero_();
  return done;
}

}  // namespace pbtnas
