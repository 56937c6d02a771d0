#pragma once
// The third unit of an exploit (after the payload codec and the transfers): building a child's
// member from its parents' states, once.
#include <torch/torch.h>

#include "pbtnas/nn/member.hpp"
#include "pbtnas/nn/named_state.hpp"
#include "pbtnas/nn/shrink_perturb.hpp"
#include "pbtnas/core/plan.hpp"
#include "pbtnas/tasks/task.hpp"

namespace pbtnas {

// task.create(plan.genome, plan.fresh_seed, device) builds the child's member; its state is the
// fresh initialisation (exported only when the plan needs it: Mix and ArchMutation children, or a
// Fresh extra state). assemble_child combines it with parent1's full state and the donor's
// tensors (docs/algorithm.md, "Building a child's weights"), a WeightMutation child is mutated
// (Task::mutation_groups), and the result is imported into that same member. The fresh
// initialisation is seeded by the plan, so the child is identical on whichever rank builds it.
Member build_child(const Task& task, const ChildPlan& plan, const NamedState& parent1,
                   const NamedState& donor, const ShrinkPerturb& sp, torch::Device device);

// The random search + shrink-perturb ablation (docs/algorithm.md, "Random search +
// shrink-perturb"): in place, every floating tensor of the member's networks in
// task.mutation_groups() (parameters and buffers: BatchNorm statistics, spectral-norm vectors)
// becomes sp.shrink * w + sp.perturb * w_fresh, with w_fresh the same tensor of
// task.create(member.genome, fresh_seed). The optimizer state and the extra state are kept.
void shrink_perturb_member(const Task& task, Member& member, std::uint64_t fresh_seed,
                           const ShrinkPerturb& sp);

}  // namespace pbtnas
