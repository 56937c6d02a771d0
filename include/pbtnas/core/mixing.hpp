#pragma once
// Architecture mixing and the SEARL-like mutation baseline (docs/algorithm.md, "Architecture
// mixing", "SEARL-like mutation baseline").
#include <cstdint>
#include <vector>

#include "pbtnas/core/plan.hpp"
#include "pbtnas/core/search_space.hpp"
#include "pbtnas/core/seed.hpp"

namespace pbtnas {

// Independent Bernoulli(p) per gene, in gene order; returns the selected genes (ascending).
// Every selected gene counts as swapped even when both parents hold the same option.
std::vector<int> draw_swapped_genes(std::size_t n_genes, double p, Rng& rng);

// parent1's genome with the swapped genes taken from parent2.
Genome mix_genomes(const Genome& parent1, const Genome& parent2, const std::vector<int>& swapped);

// SEARL-like mutation of one child (parent == parent1 == parent2 in the plan):
// r < 1/3 clone, r < 2/3 weight mutation, else one gene gets a different option
// (a gene with a single option cannot change: then the child is a clone). The gene is an
// architecture gene: hyperparameter genes are explored separately (core/hyper_genes.hpp).
struct MutationDraw {
  ChildKind kind = ChildKind::Clone;
  int gene = -1;       // ArchMutation only
  int new_option = -1; // ArchMutation only
};
MutationDraw draw_mutation(const SearchSpace& space, const Genome& parent, Rng& rng);

}  // namespace pbtnas
