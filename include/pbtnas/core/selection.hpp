#pragma once
// Truncation selection of PBT-NAS (docs/algorithm.md, "Parents, survivors and slots"): pure
// functions.
#include <string>
#include <vector>

#include "pbtnas/core/objectives.hpp"
#include "pbtnas/core/seed.hpp"

namespace pbtnas {

struct SelectionConfig {
  int population_size = 24;
  int n_children = 6;              // must equal N - int(survive_fraction * N)
  double parents_fraction = 0.25;  // tau: parents come from the top int(tau * N)
  double survive_fraction = 0.75;  // elites: the top int(survive_fraction * N) keep their slot
  // Beyond the paper (docs/algorithm.md, "Beyond the paper"); the defaults are the paper's.
  // selection.objectives: what members are ranked by ([fitness]: the paper's truncation).
  std::vector<Objective> objectives = {Objective::Fitness};
  int latency_repeats = 10;        // selection.latency_repeats: timed forward passes (median)
  // selection.scheme: greedy (the paper) or multi_frequency (sub-populations exploiting at
  // different frequencies, with migration; docs/algorithm.md).
  std::string scheme = "greedy";
  std::vector<int> frequencies = {1, 2, 4};  // selection.frequencies: one per sub-population
  bool migration = true;                     // selection.migration

  int n_elites() const;
  int top_size() const;
  bool multi_objective() const { return objectives.size() > 1 || objectives[0] != Objective::Fitness; }
  bool needs(Objective o) const;
  bool multi_frequency() const { return scheme == "multi_frequency"; }
  int subpopulations() const { return static_cast<int>(frequencies.size()); }
  // Members of sub-population k: the slots i with i % subpopulations() == k, ascending.
  std::vector<int> subpopulation(int k) const;
  // Truncation inside a sub-population of n members: elites int(survive_fraction * n), top set
  // max(2, int(parents_fraction * n)).
  int subpopulation_elites(int n) const;
  int subpopulation_top(int n) const;
  // Throws std::invalid_argument naming the config keys and the valid values.
  void validate() const;
  void validate_beyond_paper() const;  // objectives, latency_repeats, scheme and its keys
};

// Member ids ordered best first. NaN counts as -inf; ties go to the lower id.
std::vector<int> rank_by_fitness(const std::vector<double>& last_fitness);

// Sub-populations that exploit at the exploit step numbered `exploit_index` (0 for the first
// exploit step of the run): k when (exploit_index + 1) % frequencies[k] == 0.
std::vector<int> evolving_subpopulations(const SelectionConfig& sel, int exploit_index);

struct ParentPair {
  int better = 0;  // parent1: the base
  int worse = 0;   // parent2: the donor (may have equal fitness; then draw order is kept)
  int first = 0;   // the first of the two draws, before ordering: the no-mixing ablation's parent
};

// Two distinct members drawn uniformly from `top` (>= 2 ids), ordered by fitness; `first` keeps
// the first draw (docs/algorithm.md, "Parents, survivors and slots").
ParentPair draw_parents(const std::vector<int>& top, const std::vector<double>& last_fitness,
                        Rng& rng);

// The slots to be refilled: every id outside the top n_elites, in ascending order.
std::vector<int> replaced_slots(const std::vector<double>& last_fitness, int n_elites);

}  // namespace pbtnas
