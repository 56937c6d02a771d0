#include "pbtnas/core/population.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "pbtnas/core/config.hpp"
#include "pbtnas/core/hyper_genes.hpp"
#include "pbtnas/core/mixing.hpp"
#include "pbtnas/core/selection.hpp"

namespace pbtnas {

const char* to_string(ChildKind kind) {
  switch (kind) {
    case ChildKind::Initial: return "initial";
    case ChildKind::Mix: return "mix";
    case ChildKind::Clone: return "clone";
    case ChildKind::WeightMutation: return "weight_mutation";
    case ChildKind::ArchMutation: return "arch_mutation";
  }
  return "?";
}

std::vector<Genome> balanced_genomes(const SearchSpace& space, int n, std::uint64_t seed) {
  if (n < 1) throw std::invalid_argument("balanced_genomes: population size must be >= 1");
  Rng rng(seed);
  std::vector<Genome> genomes(n, Genome(space.size()));
  for (std::size_t g = 0; g < space.size(); ++g) {
    const int k = static_cast<int>(space.gene(g).options.size());
    std::vector<int> pool;
    for (int rep = 0; rep < n / k; ++rep)
      for (int o = 0; o < k; ++o) pool.push_back(o);
    while (static_cast<int>(pool.size()) < n) pool.push_back(static_cast<int>(rng.below(k)));
    rng.shuffle(pool);
    for (int i = 0; i < n; ++i) genomes[i][g] = pool[i];
  }
  return genomes;
}

Population::Population(const SearchSpace& space, int n, std::uint64_t run_seed) {
  const auto genomes = balanced_genomes(space, n, derive_seed(run_seed, 0, 0, Purpose::InitPopulation));
  for (int i = 0; i < n; ++i) {
    MemberRecord r;
    r.id = i;
    r.genome = genomes[i];
    r.lineage.assign(space.size(), std::vector<int>{i});
    r.incarnation = i;
    members_.push_back(r);
    Incarnation inc;
    inc.seq_id = i;
    inc.slot = i;
    inc.birth_generation = -1;
    history_.push_back(inc);
  }
}

std::vector<double> Population::last_fitness() const {
  std::vector<double> f;
  for (const auto& m : members_) f.push_back(m.last_fitness());
  return f;
}

void Population::record_fitness(const std::vector<double>& fitness) {
  if (fitness.size() != members_.size())
    throw std::invalid_argument("record_fitness: got " + std::to_string(fitness.size()) + " values for " +
                                std::to_string(members_.size()) + " members");
  for (std::size_t i = 0; i < fitness.size(); ++i)
    members_[i].fitness.push_back(std::isnan(fitness[i]) ? kFitnessDiverged : fitness[i]);
}

void Population::record_costs(const std::vector<MemberCosts>& costs) {
  if (costs.size() != members_.size())
    throw std::invalid_argument("record_costs: got " + std::to_string(costs.size()) + " values for " +
                                std::to_string(members_.size()) + " members");
  costs_ = costs;
}

std::vector<int> Population::ranked(const SelectionConfig& sel) const {
  if (!sel.multi_objective()) return rank_by_fitness(last_fitness());
  std::vector<int> ids(members_.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int>(i);
  return rank_by_objectives(objective_points(sel.objectives, last_fitness(), costs_), ids);
}

std::vector<int> Population::pareto_front(const SelectionConfig& sel) const {
  if (costs_.size() != members_.size()) return {};
  return ::pbtnas::pareto_front(objective_points(sel.objectives, last_fitness(), costs_));
}

namespace {

// Parent pairs are ordered by `key` (higher is better): the fitness with one objective (the
// paper), else the members' positions in the ranking.
std::vector<double> order_key(const SelectionConfig& sel, const std::vector<double>& fitness,
                              const std::vector<int>& ranked) {
  if (!sel.multi_objective()) return fitness;
  std::vector<double> key(fitness.size(), -INFINITY);
  for (std::size_t i = 0; i < ranked.size(); ++i) key[static_cast<std::size_t>(ranked[i])] = -static_cast<double>(i);
  return key;
}

// The exploit steps before the one after `generation` (mix_after is pure in the generation).
int exploit_index(const RunConfig& cfg, std::int64_t generation) {
  int n = 0;
  for (std::int64_t g = 0; g < generation; ++g)
    if (cfg.mix_after(static_cast<int>((g + 1) * cfg.epochs_step))) ++n;
  return n;
}

}  // namespace

ChildPlan Population::child(const RunConfig& cfg, const SearchSpace& space, std::int64_t generation, int mix_index,
                            const ParentPair& pp) const {
  ChildPlan c;
  // No-mixing ablation: both parents are the first draw, a uniform member of the top set (the
  // released code overrides the donor before it orders the pair; docs/algorithm.md).
  const bool itself = cfg.algorithm == Algorithm::PbtNas && cfg.mix_with_itself;
  c.parent1 = itself ? pp.first : pp.better;
  const Genome& g1 = members_[c.parent1].genome;
  if (cfg.algorithm == Algorithm::PbtNas) {
    c.kind = ChildKind::Mix;
    c.parent2 = itself ? pp.first : pp.worse;
    Rng mix_rng(derive_seed(cfg.seed, generation, mix_index, Purpose::Mixing));
    c.swapped_genes = draw_swapped_genes(space.size(), cfg.swap_probability, mix_rng);
    c.genome = mix_genomes(g1, members_[c.parent2].genome, c.swapped_genes);
  } else {  // SEARL-like mutation: the better of the two is the single parent
    c.parent2 = pp.better;
    Rng mut_rng(derive_seed(cfg.seed, generation, mix_index, Purpose::Mutation));
    const MutationDraw d = draw_mutation(space, g1, mut_rng);
    c.kind = d.kind;
    c.genome = g1;
    if (d.kind == ChildKind::ArchMutation) {
      c.genome[d.gene] = d.new_option;
      c.swapped_genes = {d.gene};
    }
    if (!cfg.hyperparameters.empty()) {  // PBT explore of the hyperparameter genes (weightless)
      Rng hyper_rng(derive_seed(cfg.seed, generation, mix_index, Purpose::HyperMutation));
      for (int g : explore_hyper_genes(space, c.genome, cfg.hyperparameters, cfg.hyperparameter_mutation, hyper_rng))
        c.swapped_genes.push_back(g);
    }
  }
  return c;
}

ExploitPlan Population::plan(const RunConfig& cfg, const SearchSpace& space, std::int64_t generation) const {
  ExploitPlan plan;
  plan.generation = generation;
  if (cfg.algorithm == Algorithm::Random) return plan;
  const SelectionConfig& sel = cfg.selection;
  sel.validate();
  if (sel.population_size != size())
    throw std::invalid_argument("plan: population_size " + std::to_string(sel.population_size) +
                                " does not match the population (" + std::to_string(size()) + ")");
  if (sel.multi_objective() && costs_.size() != members_.size())
    throw std::logic_error("plan: selection.objectives needs the members' costs (record_costs) of this generation");
  if (sel.multi_frequency()) return plan_subpopulations(cfg, space, generation);
  const auto fitness = last_fitness();
  const auto ranked = this->ranked(sel);
  const auto key = order_key(sel, fitness, ranked);
  const std::vector<int> top(ranked.begin(), ranked.begin() + sel.top_size());
  std::vector<int> slots(ranked.begin() + sel.n_elites(), ranked.end());
  std::sort(slots.begin(), slots.end());

  Rng select_rng(derive_seed(cfg.seed, generation, -1, Purpose::Selection));
  std::vector<ChildPlan> children;
  for (int k = 0; k < sel.n_children; ++k) children.push_back(child(cfg, space, generation, k, draw_parents(top, key, select_rng)));
  // Children are permuted, then placed into the freed slots in ascending order (docs/algorithm.md,
  // "Parents, survivors and slots").
  std::vector<int> perm(children.size());
  for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int>(i);
  select_rng.shuffle(perm);
  for (std::size_t j = 0; j < slots.size(); ++j) {
    ChildPlan c = children[perm[j]];
    c.slot = slots[j];
    c.fresh_seed = derive_seed(cfg.seed, generation, c.slot, Purpose::FreshInit);
    plan.children.push_back(std::move(c));
  }
  return plan;
}

// selection.scheme multi_frequency (docs/algorithm.md, "Beyond the paper: a less greedy
// selection"): each sub-population due at this exploit step selects within itself as the paper
// does; with migration, its lowest-ranked replaced slot takes instead a child of the best member
// of the other sub-populations (parent1) and a member of its own top set (donor), when that member
// ranks above the sub-population's best. A sub-population is ordered as the whole population is
// ranked, so that a migrant is never replaced in the same step.
ExploitPlan Population::plan_subpopulations(const RunConfig& cfg, const SearchSpace& space,
                                            std::int64_t generation) const {
  const SelectionConfig& sel = cfg.selection;
  ExploitPlan plan;
  plan.generation = generation;
  const auto fitness = last_fitness();
  const auto all_ranked = ranked(sel);
  const auto key = order_key(sel, fitness, all_ranked);
  std::vector<int> position(fitness.size());
  for (std::size_t i = 0; i < all_ranked.size(); ++i) position[static_cast<std::size_t>(all_ranked[i])] = static_cast<int>(i);
  for (int k : evolving_subpopulations(sel, exploit_index(cfg, generation))) {
    const std::vector<int> ids = sel.subpopulation(k);
    std::vector<int> order = ids;  // within the sub-population, as ranked in the whole population
    std::sort(order.begin(), order.end(), [&](int a, int b) { return position[a] < position[b]; });
    const int n = static_cast<int>(ids.size());
    const std::vector<int> top(order.begin(), order.begin() + sel.subpopulation_top(n));
    const std::vector<int> replaced(order.begin() + sel.subpopulation_elites(n), order.end());
    Rng rng(derive_seed(cfg.seed, generation, -2 - k, Purpose::Selection));
    std::vector<ChildPlan> children;
    std::vector<int> slots = replaced;
    int migrant = -1;
    if (sel.migration)
      for (int m : all_ranked)
        if (m % sel.subpopulations() != k) {
          if (position[m] < position[order[0]]) migrant = m;
          break;
        }
    if (migrant >= 0) {
      const ParentPair own = draw_parents(top, key, rng);
      ChildPlan c = child(cfg, space, generation, replaced.back(), {migrant, own.first, migrant});
      c.slot = replaced.back();
      children.push_back(std::move(c));
      slots.pop_back();
    }
    std::sort(slots.begin(), slots.end());
    std::vector<ChildPlan> drawn;
    for (int slot : slots) drawn.push_back(child(cfg, space, generation, slot, draw_parents(top, key, rng)));
    std::vector<int> perm(drawn.size());
    for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int>(i);
    rng.shuffle(perm);
    for (std::size_t j = 0; j < slots.size(); ++j) {
      ChildPlan c = drawn[perm[j]];
      c.slot = slots[j];
      children.push_back(std::move(c));
    }
    for (ChildPlan& c : children) c.fresh_seed = derive_seed(cfg.seed, generation, c.slot, Purpose::FreshInit);
    plan.children.insert(plan.children.end(), children.begin(), children.end());
  }
  std::sort(plan.children.begin(), plan.children.end(),
            [](const ChildPlan& a, const ChildPlan& b) { return a.slot < b.slot; });
  return plan;
}

void Population::apply(const ExploitPlan& plan) {
  const std::vector<MemberRecord> before = members_;  // parents as evaluated
  for (const ChildPlan& c : plan.children) {
    const MemberRecord& p1 = before.at(c.parent1);
    const MemberRecord& p2 = before.at(c.parent2);
    MemberRecord& slot = members_.at(c.slot);
    Incarnation& old = history_.at(slot.incarnation);
    old.final_generation = plan.generation;
    old.final_fitness = slot.last_fitness();

    Incarnation inc;
    inc.seq_id = static_cast<std::int64_t>(history_.size());
    inc.slot = c.slot;
    inc.birth_generation = plan.generation;
    inc.parent1 = c.parent1;
    inc.parent2 = c.parent2;
    inc.kind = c.kind;
    for (int g : c.swapped_genes) {
      inc.changed_genes.push_back(g);
      inc.old_values.push_back(p1.genome.at(g));
      inc.new_values.push_back(c.genome.at(g));
    }

    MemberRecord child;
    child.id = c.slot;
    child.genome = c.genome;
    child.fitness = p1.fitness;
    child.lineage = p1.lineage;
    for (int g : c.swapped_genes) {
      if (c.kind == ChildKind::ArchMutation) {
        child.lineage[g] = {c.slot};  // fresh weights: the layer's origin is the new slot
      } else {
        child.lineage[g] = p2.lineage[g];  // the donor's layer, now living in this slot
        child.lineage[g].push_back(c.slot);
      }
    }
    child.incarnation = inc.seq_id;
    history_.push_back(inc);
    slot = std::move(child);
  }
}

}  // namespace pbtnas
