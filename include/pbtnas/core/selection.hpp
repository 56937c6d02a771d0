#pragma once
// Truncation selection of PBT-NAS (docs/algorithm.md, "Parents, survivors and slots"): pure
// functions.
#include <vector>

#include "pbtnas/core/seed.hpp"

namespace pbtnas {

struct SelectionConfig {
  int population_size = 24;
  int n_children = 6;              // must equal N - int(survive_fraction * N)
  double parents_fraction = 0.25;  // tau: parents come from the top int(tau * N)
  double survive_fraction = 0.75;  // elites: the top int(survive_fraction * N) keep their slot

  int n_elites() const;
  int top_size() const;
  // Throws std::invalid_argument naming the config keys and the valid values.
  void validate() const;
};

// Member ids ordered best first. NaN counts as -inf; ties go to the lower id.
std::vector<int> rank_by_fitness(const std::vector<double>& last_fitness);

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
