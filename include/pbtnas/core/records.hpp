#pragma once
// Records the coordinator keeps: one per population slot (no tensors), and the global history
// of incarnations (one entry each time a slot receives a new model).
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "pbtnas/core/search_space.hpp"

namespace pbtnas {

constexpr double kFitnessDiverged = -std::numeric_limits<double>::infinity();

struct MemberRecord {
  int id = 0;                                // slot id, 0..N-1
  Genome genome;
  std::vector<double> fitness;               // one value per trained step of this lineage
  std::vector<std::vector<int>> lineage;     // per gene: slot ids the layer passed through,
                                             // first = the original model of generation 0
  std::int64_t incarnation = 0;              // index into the global history

  double last_fitness() const {
    return fitness.empty() ? kFitnessDiverged : fitness.back();
  }
};

// Kind of exchange that produced a model.
enum class ChildKind : int { Initial = 0, Mix = 1, Clone = 2, WeightMutation = 3, ArchMutation = 4 };
const char* to_string(ChildKind kind);

struct Incarnation {
  std::int64_t seq_id = 0;
  int slot = 0;
  std::int64_t birth_generation = 0;  // generation whose exploit created it (-1: initial)
  int parent1 = -1, parent2 = -1;
  ChildKind kind = ChildKind::Initial;
  std::vector<int> changed_genes;
  std::vector<int> old_values;        // parent1's options at the changed genes
  std::vector<int> new_values;        // the child's options there
  std::int64_t final_generation = -1; // set when replaced (-1 while alive)
  double final_fitness = 0.0;
};

}  // namespace pbtnas

