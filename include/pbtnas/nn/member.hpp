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
//   "extra.<name>.<field>"          task-declared per-member state (Member::extra), e.g. an RL
//                                   replay buffer: any shapes and dtypes, stored as given
// Positional index i runs over the parameters of all of optimizer k's param_groups, in order.
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "pbtnas/nn/named_state.hpp"
#include "pbtnas/core/search_space.hpp"

namespace pbtnas {

struct Member {
  Genome genome;
  std::shared_ptr<torch::nn::Module> model;
  std::shared_ptr<torch::nn::Module> average;  // may be null
  std::vector<std::unique_ptr<torch::optim::Optimizer>> optimizers;  // Adam or AdamW
  torch::Device device = torch::kCPU;
  // Task state that is not a network: entries "<name>.<field>" (no "extra." prefix here), for
  // each ExtraState the task declares. Exported as "extra.<name>.<field>".
  NamedState extra;
  // export_member_state's record of module_state(model) and module_state(average): the names and
  // the live tensors, rebuilt whenever `model` or `average` is another module than when it was
  // made. Walking the module tree costs more than the rest of a borrowed export.
  mutable std::shared_ptr<const struct ModuleIndex> module_index;
};

// How a child obtains one kind of extra state at an exploit (docs/algorithm.md, "Building a
// child's weights"): the rule applies to Mix children (including the no-mixing ablation, whose
// donor is parent1); clone and mutation children take parent1's, except under Fresh.
enum class ExtraInherit {
  Parent1,  // a copy of parent1's
  Donor,    // a copy of the donor's (parent2's): e.g. the replay buffer of the released RL code
  Fresh,    // what the task's create() gives the child (every kind of child)
};

// One kind of extra state a task keeps per member: the entries "extra.<name>.*".
struct ExtraState {
  std::string name;
  ExtraInherit on_mix = ExtraInherit::Parent1;
};

// The rule for an entry "extra.<name>.<field>" (Parent1 when no declared name matches).
ExtraInherit extra_rule(const std::vector<ExtraState>& extras, const std::string& entry_name);

// Copy: a snapshot (contiguous CPU copies) of everything above. Borrow: CPU contiguous tensors
// are given as they are, sharing storage with the live member (valid until it trains or changes;
// for writing a checkpoint at once, without a copy of every tensor); others are copied.
enum class Snapshot { Copy, Borrow };
NamedState export_member_state(const Member& member, Snapshot snapshot = Snapshot::Copy);

// Number of scalar parameters (not buffers) of a module.
std::int64_t count_parameters(const torch::nn::Module& net);

// Loads "model." and "average." exactly, and replaces member.extra with the "extra." entries (names, shapes, dtypes must match; throws otherwise).
// Optimizer state follows docs/algorithm.md, "Optimizer state of a child": for optimizer k, if
// the saved count differs from the number of parameters the optimizer now holds, the whole
// optimizer starts fresh; otherwise parameter i keeps saved state i when exp_avg's shape equals
// the parameter's, and starts fresh when it differs. Learning rate and weight decay stay as
// configured.
void import_member_state(Member& member, const NamedState& state);

}  // namespace pbtnas
