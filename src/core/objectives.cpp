#include "pbtnas/core/objectives.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace pbtnas {

Objective parse_objective(const std::string& name) {
  if (name == "fitness") return Objective::Fitness;
  if (name == "-parameters") return Objective::Parameters;
  if (name == "-latency_ms") return Objective::LatencyMs;
  throw std::invalid_argument("'" + name + "' is not an objective; expected fitness, -parameters or -latency_ms");
}

const char* to_string(Objective o) {
  switch (o) {
    case Objective::Fitness: return "fitness";
    case Objective::Parameters: return "-parameters";
    case Objective::LatencyMs: return "-latency_ms";
  }
  return "?";
}

std::vector<std::vector<double>> objective_points(const std::vector<Objective>& objectives,
                                                  const std::vector<double>& fitness,
                                                  const std::vector<MemberCosts>& costs) {
  std::vector<std::vector<double>> points(fitness.size());
  for (std::size_t m = 0; m < fitness.size(); ++m) {
    for (Objective o : objectives) {
      if (o == Objective::Fitness) {
        points[m].push_back(std::isnan(fitness[m]) ? -INFINITY : fitness[m]);
        continue;
      }
      if (m >= costs.size())
        throw std::invalid_argument(std::string("objective ") + to_string(o) + ": no cost measured for member " +
                                    std::to_string(m));
      points[m].push_back(o == Objective::Parameters ? -costs[m].parameters : -costs[m].latency_ms);
    }
  }
  return points;
}

namespace {

bool finite_point(const std::vector<double>& p) { return !p.empty() && std::isfinite(p[0]); }

bool dominates(const std::vector<double>& a, const std::vector<double>& b) {
  bool better = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] < b[i]) return false;
    if (a[i] > b[i]) better = true;
  }
  return better;
}

}  // namespace

std::vector<std::vector<int>> non_dominated_fronts(const std::vector<std::vector<double>>& points,
                                                   const std::vector<int>& ids) {
  std::vector<int> rest, diverged;
  for (int i : ids) (finite_point(points.at(i)) ? rest : diverged).push_back(i);
  std::sort(rest.begin(), rest.end());
  std::sort(diverged.begin(), diverged.end());
  std::vector<std::vector<int>> fronts;
  while (!rest.empty()) {
    std::vector<int> front, next;
    for (int a : rest) {
      bool dominated = false;
      for (int b : rest) dominated = dominated || dominates(points[b], points[a]);
      (dominated ? next : front).push_back(a);
    }
    fronts.push_back(std::move(front));
    rest = std::move(next);
  }
  if (!diverged.empty()) fronts.push_back(std::move(diverged));
  return fronts;
}

std::vector<int> scattered_order(const std::vector<std::vector<double>>& points, const std::vector<int>& front,
                                 const std::vector<int>& ids) {
  if (front.empty() || !finite_point(points.at(front[0]))) {
    std::vector<int> sorted = front;  // the diverged: by id
    std::sort(sorted.begin(), sorted.end());
    return sorted;
  }
  const std::size_t dims = points[front[0]].size();
  std::vector<double> lo(dims, INFINITY), hi(dims, -INFINITY);
  for (int i : ids) {
    if (!finite_point(points[i])) continue;
    for (std::size_t d = 0; d < dims; ++d) {
      lo[d] = std::min(lo[d], points[i][d]);
      hi[d] = std::max(hi[d], points[i][d]);
    }
  }
  auto distance = [&](int a, int b) {
    double s = 0.0;
    for (std::size_t d = 0; d < dims; ++d) {
      const double range = hi[d] - lo[d];
      if (range > 0.0 && std::isfinite(range)) s += std::pow((points[a][d] - points[b][d]) / range, 2);
    }
    return std::sqrt(s);
  };
  std::vector<int> left = front;
  std::sort(left.begin(), left.end());
  std::vector<int> order;
  auto take = [&](std::size_t i) {
    order.push_back(left[i]);
    left.erase(left.begin() + static_cast<std::ptrdiff_t>(i));
  };
  for (std::size_t d = 0; d < dims && !left.empty(); ++d) {  // the extremes, once each
    std::size_t best = 0;
    for (std::size_t i = 1; i < left.size(); ++i)
      if (points[left[i]][d] > points[left[best]][d]) best = i;
    bool extreme = true;  // the best of the whole front, not only of those left
    for (int o : order) extreme = extreme && points[o][d] < points[left[best]][d];
    if (extreme) take(best);
  }
  while (!left.empty()) {
    std::size_t best = 0;
    double best_gap = -1.0;
    for (std::size_t i = 0; i < left.size(); ++i) {
      double gap = INFINITY;
      for (int o : order) gap = std::min(gap, distance(left[i], o));
      if (gap > best_gap) {
        best_gap = gap;
        best = i;
      }
    }
    take(best);
  }
  return order;
}

std::vector<int> rank_by_objectives(const std::vector<std::vector<double>>& points, std::vector<int> ids) {
  std::vector<int> ranked;
  for (const auto& front : non_dominated_fronts(points, ids))
    for (int m : scattered_order(points, front, ids)) ranked.push_back(m);
  return ranked;
}

std::vector<int> pareto_front(const std::vector<std::vector<double>>& points) {
  std::vector<int> ids(points.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int>(i);
  const auto fronts = non_dominated_fronts(points, ids);
  if (fronts.empty() || !finite_point(points[fronts[0][0]])) return {};
  return fronts[0];
}

}  // namespace pbtnas
