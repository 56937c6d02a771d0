#pragma once
// SEARL-like "classic parameter mutation" of the PBT + mutation baseline (docs/algorithm.md,
// "Weight mutation"; Q13), applied to an exported member state.
#include <cstdint>
#include <string>
#include <vector>

#include "pbtnas/nn/named_state.hpp"

namespace pbtnas {

// Mutates, in place, entries of `state` whose name starts with one of `groups` (default: the
// live network "model." only; an RL task whose critic target should be a candidate, as in the
// reference code, passes {"model.", "average."}):
//   candidates: floating tensors with more than one dimension whose name does not contain
//               "norm"; how_many ~ U{1..#candidates} distinct ones are chosen;
//   per tensor W: n0 = W.size(0); m ~ U{0..ceil(0.1*n0)-1}; each element is masked with
//               probability m/n0; a masked element draws s ~ U[0,1):
//               s < 0.05: w += N(0, |10 w|);  s < 0.10: w := N(0, 1);  else w += N(0, |0.1 w|);
//               then w is clamped to [-1e6, 1e6].
// Every draw comes from pbtnas::Rng(seed), so the result is identical on every platform.
// A mutated entry is replaced by a new tensor (same device, dtype, shape); untouched entries and
// unmasked elements keep their exact values. Returns the number of masked elements.
std::int64_t mutate_weights(NamedState& state, std::uint64_t seed,
                            const std::vector<std::string>& groups = {"model."});

}  // namespace pbtnas
