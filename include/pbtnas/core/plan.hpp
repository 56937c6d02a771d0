#pragma once
// The exploit plan: what rank 0 broadcasts after ranking a generation.
#include <cstdint>
#include <vector>

#include "pbtnas/core/records.hpp"

namespace pbtnas {

struct ChildPlan {
  int slot = 0;             // the replaced member's id; the child takes it over
  int parent1 = 0;          // base: full state (weights, optimizer, EMA/target) comes from here
  int parent2 = 0;          // donor of the swapped genes' layers (== parent1 for non-mix kinds)
  ChildKind kind = ChildKind::Mix;
  Genome genome;            // the child's architecture
  std::vector<int> swapped_genes;  // genes whose tensors are replaced (ascending)
  std::uint64_t fresh_seed = 0;    // seeds the fresh init (shrink-perturb, arch mutation) and
                                   // the element draws of a weight mutation
};

struct ExploitPlan {
  std::int64_t generation = 0;  // the generation just evaluated
  std::vector<ChildPlan> children;
  // Placement for the next generation (runtime.balance: measured): the owner rank of each
  // member, applied after the children are built; empty = unchanged. Never changes results.
  std::vector<int> owners;
  bool empty() const { return children.empty(); }
};

}  // namespace pbtnas
