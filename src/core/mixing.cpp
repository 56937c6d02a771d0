#include "pbtnas/core/mixing.hpp"

#include <stdexcept>

namespace pbtnas {

std::vector<int> draw_swapped_genes(std::size_t n_genes, double p, Rng& rng) {
  std::vector<int> swapped;
  for (std::size_t g = 0; g < n_genes; ++g)
    if (rng.uniform() < p) swapped.push_back(static_cast<int>(g));
  return swapped;
}

Genome mix_genomes(const Genome& parent1, const Genome& parent2, const std::vector<int>& swapped) {
  if (parent1.size() != parent2.size())
    throw std::invalid_argument("mix_genomes: parents have different gene counts");
  Genome child = parent1;
  for (int g : swapped) child.at(g) = parent2.at(g);
  return child;
}

MutationDraw draw_mutation(const SearchSpace& space, const Genome& parent, Rng& rng) {
  const double r = rng.uniform();
  MutationDraw d;
  if (r < 1.0 / 3.0) return d;  // clone
  if (r < 2.0 / 3.0) {
    d.kind = ChildKind::WeightMutation;
    return d;
  }
  d.gene = static_cast<int>(rng.below(space.architecture_size()));  // never a hyperparameter gene
  const int n = static_cast<int>(space.gene(d.gene).options.size());
  if (n < 2) {  // nothing else to pick: the child stays a clone
    d.gene = -1;
    return d;
  }
  // Uniform over the other options (equivalent to the released code's rejection sampling).
  int o = static_cast<int>(rng.below(n - 1));
  if (o >= parent.at(d.gene)) ++o;
  d.kind = ChildKind::ArchMutation;
  d.new_option = o;
  return d;
}

}  // namespace pbtnas
