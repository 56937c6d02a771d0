#pragma once
// Several objectives (selection.objectives; docs/algorithm.md, "Beyond the paper"): members ranked
// by non-dominated sorting, each front ordered by a spread-preserving scattered subset selection,
// as in MO-PBT (Dushatskiy et al., ICML 2023). Pure functions: no torch, no I/O.
#include <string>
#include <vector>

namespace pbtnas {

// What a member is judged by. Every objective is maximised: `-parameters` and `-latency_ms` are
// the negated cost.
enum class Objective { Fitness, Parameters, LatencyMs };
// "fitness", "-parameters", "-latency_ms"; throws std::invalid_argument naming the valid names.
Objective parse_objective(const std::string& name);
const char* to_string(Objective o);

// The costs a worker measures of a member next to its fitness (FitnessReport).
struct MemberCosts {
  double parameters = 0.0;  // scalar parameters of the member's networks
  double latency_ms = 0.0;  // median milliseconds of one forward pass of a batch
};

// The point of each member in objective space (maximised), one coordinate per objective in the
// order given. A NaN or -inf fitness is kept as -inf.
std::vector<std::vector<double>> objective_points(const std::vector<Objective>& objectives,
                                                  const std::vector<double>& fitness,
                                                  const std::vector<MemberCosts>& costs);

// Non-dominated fronts of `ids` (indices into `points`), best front first, ids ascending inside a
// front. a dominates b when a >= b in every coordinate and > in one; equal points share a front.
// Points whose first coordinate is not finite (a diverged member) form the last front.
std::vector<std::vector<int>> non_dominated_fronts(const std::vector<std::vector<double>>& points,
                                                   const std::vector<int>& ids);

// The members of one front in order of selection: first the front's best member in each
// objective (in the order of the objectives, ties to the lower id, each once), then repeatedly
// the member farthest (Euclidean, objectives scaled by their range over `ids`) from the nearest
// member already taken (ties to the lower id).
std::vector<int> scattered_order(const std::vector<std::vector<double>>& points, const std::vector<int>& front,
                                 const std::vector<int>& ids);

// `ids` best first: the fronts in order, each in scattered_order. With one objective this is
// rank_by_fitness restricted to `ids` (higher first, ties to the lower id, NaN/-inf last).
std::vector<int> rank_by_objectives(const std::vector<std::vector<double>>& points, std::vector<int> ids);

// The first front of all members (ids ascending); empty for an empty population.
std::vector<int> pareto_front(const std::vector<std::vector<double>>& points);

}  // namespace pbtnas
