#include "pbtnas/run/build_child.hpp"

#include <algorithm>
#include <stdexcept>

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
  // Borrowed: assemble_child only reads the fresh state and copies what it takes, so importing
  // the child into m afterwards cannot see its own writes.
  const NamedState fresh = needs_fresh ? export_member_state(m, Snapshot::Borrow) : NamedState{};
  NamedState child = assemble_child(task.space(), plan, parent1, donor, fresh, sp, extras);
  if (plan.kind == ChildKind::WeightMutation) mutate_weights(child, plan.fresh_seed, task.mutation_groups());
  import_member_state(m, child);
  return m;
}

void shrink_perturb_member(const Task& task, Member& member, std::uint64_t fresh_seed,
                           const ShrinkPerturb& sp) {
  const Member fresh = task.create(member.genome, fresh_seed, member.device);
  const std::vector<std::string> groups = task.mutation_groups();
  auto perturb = [&](const std::shared_ptr<torch::nn::Module>& live,
                     const std::shared_ptr<torch::nn::Module>& init, const std::string& prefix) {
    if (!live || std::find(groups.begin(), groups.end(), prefix) == groups.end()) return;
    if (!init) throw std::logic_error("shrink_perturb_member: the fresh member has no '" + prefix + "' network");
    const NamedState w = module_state(*live, prefix);
    const NamedState f = module_state(*init, prefix);
    if (w.size() != f.size())
      throw std::logic_error("shrink_perturb_member: the fresh '" + prefix + "' network has " +
                             std::to_string(f.size()) + " tensors, the member's " + std::to_string(w.size()));
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (w[i].name != f[i].name)
        throw std::logic_error("shrink_perturb_member: tensor " + w[i].name + " has no fresh counterpart");
      if (w[i].tensor.is_floating_point()) w[i].tensor.copy_(shrink_perturb(w[i].tensor, f[i].tensor, sp));
    }
  };
  perturb(member.model, fresh.model, "model.");
  perturb(member.average, fresh.average, "average.");
}

}  // namespace pbtnas
