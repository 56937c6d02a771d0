#pragma once
// The RL child tests' exploit step: parent 1's genome with some genes of parent 2, assembled as a
// worker assembles it (donor layers shrink-perturbed with [0.4, 0.1] against a fresh init).
#include <vector>

#include "pbtnas/nn/child.hpp"
#include "pbtnas/tasks/rl/rl_task.hpp"

namespace pbtnas::test {

struct AssembledChild {
  ChildPlan plan;
  NamedState fresh;  // the fresh initialisation of the child's genome (seed plan.fresh_seed)
  NamedState child;
};

inline AssembledChild assemble_rl_child(const rl::RlTask& task, const Genome& g1, const NamedState& s1,
                                        const Genome& g2, const NamedState& s2, const std::vector<int>& swapped) {
  const SearchSpace& space = task.space();
  AssembledChild out;
  ChildPlan& plan = out.plan;
  plan.kind = ChildKind::Mix;
  plan.parent1 = 0;
  plan.parent2 = 1;
  plan.swapped_genes = swapped;
  plan.genome = g1;
  for (int g : plan.swapped_genes) plan.genome[static_cast<std::size_t>(g)] = g2[static_cast<std::size_t>(g)];
  plan.fresh_seed = 99;
  out.fresh = export_member_state(task.create(plan.genome, plan.fresh_seed, torch::kCPU));
  const ShrinkPerturb sp{0.4, 0.1};
  const NamedState donor = donor_tensors(space, plan.swapped_genes, s2, task.extra_state());
  out.child = assemble_child(space, plan, s1, donor, out.fresh, sp, task.extra_state());
  return out;
}

}  // namespace pbtnas::test
