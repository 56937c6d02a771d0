#pragma once
// Model soups (docs/algorithm.md, "Model soups"): uniform averages of the weights of population
// members that share one architecture, grown greedily from the best member.
#include <functional>
#include <string>
#include <vector>

#include "pbtnas/nn/named_state.hpp"

namespace pbtnas {

// The uniform average of `states` (all of one architecture: the same names, shapes and dtypes,
// else std::invalid_argument naming the tensor). Tensors under `groups` (e.g. "model.",
// "average.") are averaged: floating ones as the mean, integer ones as the floor of the mean;
// spectral-norm power-iteration vectors (names ending in "_u" or "_v") and every tensor outside
// `groups` (optimizer and extra state) are the first state's. The result never aliases an input.
NamedState average_states(const std::vector<const NamedState*>& states, const std::vector<std::string>& groups);

struct GreedySoup {
  std::vector<int> members;     // accepted candidates, in order; the first is always candidates[0]
  double fitness = 0.0;         // of the accepted soup (candidates[0]'s fitness when alone)
  std::vector<double> tried;    // fitness of each soup tried, per candidate after the first
};

// The released greedy rule: start from candidates[0] (the best member, with `start_fitness`);
// for each further candidate c in order, evaluate the average of the accepted members and c
// (`evaluate(members)`), and accept c when that fitness is strictly higher than the soup's so far.
GreedySoup greedy_soup(const std::vector<int>& candidates, double start_fitness,
                       const std::function<double(const std::vector<int>&)>& evaluate);

}  // namespace pbtnas
