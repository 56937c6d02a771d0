#include "pbtnas/core/layout.hpp"

#include <algorithm>
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
  for (int m = 0; m < population_; ++m) owners_.push_back(1 + m % workers_);
}

Layout::Layout(int population, int world_size, std::vector<int> owners) : Layout(population, world_size) {
  if (static_cast<int>(owners.size()) != population_)
    throw std::invalid_argument("Layout: " + std::to_string(owners.size()) + " owners for " + std::to_string(population_) +
                                " members");
  for (int m = 0; m < population_; ++m)
    if (owners[static_cast<std::size_t>(m)] < 1 || owners[static_cast<std::size_t>(m)] > workers_)
      throw std::invalid_argument("Layout: member " + std::to_string(m) + " placed on rank " +
                                  std::to_string(owners[static_cast<std::size_t>(m)]) + ", not a worker (1.." +
                                  std::to_string(workers_) + ")");
  owners_ = std::move(owners);
}

int Layout::owner(int member) const {
  if (member < 0 || member >= population_) throw std::out_of_range("Layout::owner: no member " + std::to_string(member));
  return owners_[static_cast<std::size_t>(member)];
}

std::vector<int> Layout::members_of(int rank) const {
  std::vector<int> out;
  for (int m = 0; m < population_; ++m)
    if (owners_[static_cast<std::size_t>(m)] == rank) out.push_back(m);
  return out;
}

std::vector<int> balanced_owners(const std::vector<double>& cost, int workers) {
  std::vector<int> order(cost.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return cost[static_cast<std::size_t>(a)] > cost[static_cast<std::size_t>(b)]; });
  std::vector<double> load(static_cast<std::size_t>(workers), 0.0);
  std::vector<int> owners(cost.size(), 1);
  for (int m : order) {
    const auto w = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    owners[static_cast<std::size_t>(m)] = static_cast<int>(w) + 1;
    load[w] += cost[static_cast<std::size_t>(m)];
  }
  return owners;
}

double max_worker_cost(const std::vector<double>& cost, const std::vector<int>& owners, int workers) {
  std::vector<double> load(static_cast<std::size_t>(workers), 0.0);
  for (std::size_t m = 0; m < cost.size() && m < owners.size(); ++m) load.at(static_cast<std::size_t>(owners[m] - 1)) += cost[m];
  return load.empty() ? 0.0 : *std::max_element(load.begin(), load.end());
}

std::vector<Move> layout_moves(const Layout& from, const Layout& to) {
  std::vector<Move> out;
  for (int m = 0; m < from.population(); ++m)
    if (from.owner(m) != to.owner(m)) out.push_back({m, from.owner(m), to.owner(m)});
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

std::vector<int> node_leaders(const std::vector<std::string>& hosts) {
  std::vector<int> leader(hosts.size(), 0);
  for (std::size_t r = 1; r < hosts.size(); ++r) {
    leader[r] = static_cast<int>(r);
    for (std::size_t q = 1; q < r; ++q)
      if (hosts[q] == hosts[r]) {
        leader[r] = static_cast<int>(q);
        break;
      }
  }
  return leader;
}

int gpu_for_local_rank(int local_rank, int gpus) {
  if (local_rank < 0 || gpus < 0)
    throw std::invalid_argument("gpu_for_local_rank: local rank " + std::to_string(local_rank) + " and GPU count " +
                                std::to_string(gpus) + " must not be negative");
  return gpus == 0 ? -1 : local_rank % gpus;
}

int threads_for_worker(int fixed, int node_cores, int node_workers) {
  if (fixed > 0) return fixed;
  return std::max(1, std::max(1, node_cores) / std::max(1, node_workers));
}

}  // namespace pbtnas
