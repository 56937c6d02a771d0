#pragma once
// The coordinator's population: member records, history, and the pure exploit decisions.
#include <cstdint>
#include <vector>

#include "pbtnas/core/objectives.hpp"
#include "pbtnas/core/records.hpp"
#include "pbtnas/core/plan.hpp"
#include "pbtnas/core/seed.hpp"
#include "pbtnas/core/selection.hpp"

namespace pbtnas {

struct RunConfig;

// Balanced initial architectures (docs/algorithm.md, "Initial population"): for each gene, a pool
// holding every option floor(N/n) times, padded with uniform draws to N and shuffled; member i
// takes element i.
std::vector<Genome> balanced_genomes(const SearchSpace& space, int n, std::uint64_t seed);

// The coordinator's population: records + history, and the pure decision of each exploit step.
class Population {
 public:
  Population() = default;
  Population(const SearchSpace& space, int n, std::uint64_t run_seed);  // balanced, generation 0
  Population(std::vector<MemberRecord> members, std::vector<Incarnation> history)
      : members_(std::move(members)), history_(std::move(history)) {}

  const std::vector<MemberRecord>& members() const { return members_; }
  const std::vector<Incarnation>& history() const { return history_; }
  int size() const { return static_cast<int>(members_.size()); }
  std::vector<double> last_fitness() const;

  // Appends one fitness value per member (NaN is stored as -inf: a diverged member).
  void record_fitness(const std::vector<double>& fitness);

  // The costs each member was measured with in the generation just recorded (selection.objectives
  // other than fitness). Not checkpointed: every generation measures them again before its exploit.
  void record_costs(const std::vector<MemberCosts>& costs);
  const std::vector<MemberCosts>& costs() const { return costs_; }
  // Member ids best first, by the fitness (the paper) or by selection.objectives (objectives.hpp).
  std::vector<int> ranked(const SelectionConfig& sel) const;
  // The first non-dominated front of the recorded generation (ids ascending; empty without costs).
  std::vector<int> pareto_front(const SelectionConfig& sel) const;

  // The exploit plan after `generation` has been evaluated; pure: depends only on the records,
  // the config and derived seeds. Empty for the random-search baseline.
  ExploitPlan plan(const RunConfig& cfg, const SearchSpace& space, std::int64_t generation) const;

  // Applies a plan to the records: genomes, fitness histories (the child continues parent1's),
  // per-gene lineage (every swapped gene records the new slot) and the global history.
  void apply(const ExploitPlan& plan);

 private:
  ChildPlan child(const RunConfig& cfg, const SearchSpace& space, std::int64_t generation, int mix_index,
                  const ParentPair& parents) const;
  ExploitPlan plan_subpopulations(const RunConfig& cfg, const SearchSpace& space, std::int64_t generation) const;

  std::vector<MemberRecord> members_;
  std::vector<Incarnation> history_;
  std::vector<MemberCosts> costs_;  // of the last recorded generation
};

}  // namespace pbtnas
