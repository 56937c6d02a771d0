#pragma once
// A population member's live state on its worker: architecture, network, optional averaged copy
// (EMA generator / critic target), and one optimizer per sub-network.
//
// Exported state layout (export_member_state / import_member_state):
//   "model.<name>"                  network parameters and buffers (state_dict order)
//   "average.<name>"                averaged copy, when the task keeps one
//   "optim.<k>.count"               int64 scalar: number of parameters optimizer k holds
//   "optim.<k>.<i>.step"            int64 scalar   } Adam/AdamW state of the i-th parameter of
//   "optim.<k>.<i>.exp_avg"         like param    } optimizer k (positional, registration order),
//   "optim.<k>.<i>.exp_avg_sq"      like param    } present only for parameters that have state
//   "optim.<k>.<i>.max_exp_avg_sq"  like param    optional: only with amsgrad
// Positional index i runs over the parameters of all of optimizer k's param_groups, in order.
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "pbtnas/nn/named_state.hpp"
#include "pbtnas/search_space.hpp"

namespace pbtnas {

struct Member {
  Genome genome;
  std::shared_ptr<torch::nn::Module> model;
  std::shared_ptr<torch::nn::Module> average;  // may be null
  std::vector<std::unique_ptr<torch::optim::Optimizer>> optimizers;  // Adam or AdamW
  torch::Device device = torch::kCPU;
};

// Snapshot (contiguous CPU copies) of everything above.
NamedState export_member_state(const Member& member);

// Number of scalar parameters (not buffers) of a module.
std::int64_t count_parameters(const torch::nn::Module& net);

// Loads "model." and "average." exactly (names, shapes, dtypes must match; throws otherwise).
// Optimizer state follows ALGORITHM.md §2.8: for optimizer k, if the saved count differs from
// the number of parameters the optimizer now holds, the whole optimizer starts fresh; otherwise
// parameter i keeps saved state i when exp_avg's shape equals the parameter's, and starts fresh
// when it differs. Learning rate and weight decay stay as configured.
void import_member_state(Member& member, const NamedState& state);

}  // namespace pbtnas
