#pragma once
// Helpers shared by the GAN tests.
#include <cstdint>

#include "pbtnas/core/search_space.hpp"
#include "pbtnas/core/seed.hpp"

namespace pbtnas::test {

// A uniformly random genome of `space` (every gene's option drawn independently).
inline Genome random_genome(const SearchSpace& space, Rng& rng) {
  Genome g;
  for (const auto& gene : space.genes()) g.push_back(static_cast<int>(rng.below(gene.options.size())));
  return g;
}

inline Genome random_genome(const SearchSpace& space, std::uint64_t seed) {
  Rng rng(seed);
  return random_genome(space, rng);
}

}  // namespace pbtnas::test
