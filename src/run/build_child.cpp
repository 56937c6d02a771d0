#include "pbtnas/run/build_child.hpp"

#include "pbtnas/nn/child.hpp"
#include "pbtnas/nn/weight_mutation.hpp"

namespace pbtnas {

Member build_child(const Task& task, const ChildPlan& plan, const NamedState& parent1, const NamedState& donor,
                   const ShrinkPerturb& sp, torch::Device device) {
  const std::vector<ExtraState> extras = task.extra_state();
  Member m = task.create(plan.genome, plan.fresh_seed, device);
  bool fresh_extra = false;
  for (const auto& e : extras) fresh_extra = fresh_extra || e.on_mix == ExtraInherit::Fresh;
  const bool needs_fresh = plan.kind == ChildKind::Mix || plan.kind == ChildKind::ArchMutation || fresh_extra;
  const NamedState fresh = needs_fresh ? export_member_state(m) : NamedState{};
  NamedState child = assemble_child(task.space(), plan, parent1, donor, fresh, sp, extras);
  if (plan.kind == ChildKind::WeightMutation) mutate_weights(child, plan.fresh_seed, task.mutation_groups());
  import_member_state(m, child);
  return m;
}

}  // namespace pbtnas
