#pragma once
// RL test genomes: option `v` of every gene (clamped to the gene's options), with the spectral-norm
// genes set to on or off.
#include <algorithm>

#include "pbtnas/core/search_space.hpp"

namespace pbtnas::test {

inline Genome rl_genome(const SearchSpace& space, int v, bool spectral) {
  Genome g(space.size());
  for (std::size_t i = 0; i < space.size(); ++i) {
    const auto& gene = space.gene(i);
    const int n = static_cast<int>(gene.options.size());
    g[i] = std::min(v, n - 1);
    if (gene.options == std::vector<std::string>{"none", "spectral"}) g[i] = spectral ? 1 : 0;
  }
  return g;
}

}  // namespace pbtnas::test
