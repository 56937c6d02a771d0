#include "pbtnas/core/layout.hpp"

#include <stdexcept>
#include <string>

namespace pbtnas {

Layout::Layout(int population, int world_size) : population_(population), workers_(world_size - 1) {
  if (world_size < 2)
    throw std::invalid_argument("pbtnas needs at least 2 MPI ranks (rank 0 coordinates, the others train); "
                                "start it as: mpirun -n R pbtnas run CONFIG --out DIR with 2 <= R <= population_size + 1");
  if (world_size > population + 1)
    throw std::invalid_argument("pbtnas was started with " + std::to_string(world_size) + " MPI ranks for a population of " +
                                std::to_string(population) + "; at most population_size + 1 = " +
                                std::to_string(population + 1) + " ranks can be used (one coordinator, one member or "
                                "more per worker): lower -n or raise population_size");
}

int Layout::owner(int member) const {
  if (member < 0 || member >= population_) throw std::out_of_range("Layout::owner: no member " + std::to_string(member));
  return 1 + member % workers_;
}

std::vector<int> Layout::members_of(int rank) const {
  std::vector<int> out;
  if (rank < 1) return out;
  for (int m = rank - 1; m < population_; m += workers_) out.push_back(m);
  return out;
}

std::vector<ChildTransfers> plan_transfers(const ExploitPlan& plan, const Layout& layout,
                                           bool donor_for_every_mix) {
  std::vector<ChildTransfers> out;
  int index = 0;
  for (std::size_t i = 0; i < plan.children.size(); ++i) {
    const ChildPlan& c = plan.children[i];
    ChildTransfers ct;
    Transfer& full = ct.full;
    full.index = index++;
    full.child = static_cast<int>(i);
    full.role = Transfer::Role::Full;
    full.member = c.parent1;
    full.src = layout.owner(c.parent1);
    full.dst = layout.owner(c.slot);
    if (c.kind == ChildKind::Mix && (!c.swapped_genes.empty() || donor_for_every_mix)) {
      ct.has_donor = true;
      ct.donor = full;
      ct.donor.index = index++;
      ct.donor.role = Transfer::Role::Donor;
      ct.donor.member = c.parent2;
      ct.donor.src = layout.owner(c.parent2);
    }
    out.push_back(ct);
  }
  return out;
}

std::vector<Transfer> all_transfers(const std::vector<ChildTransfers>& per_child) {
  std::vector<Transfer> out;
  for (const auto& ct : per_child) {
    out.push_back(ct.full);
    if (ct.has_donor) out.push_back(ct.donor);
  }
  return out;
}

}  // namespace pbtnas
