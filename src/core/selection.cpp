#include "pbtnas/core/selection.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace pbtnas {

int SelectionConfig::n_elites() const {
  return static_cast<int>(std::floor(survive_fraction * population_size + 1e-9));
}

int SelectionConfig::top_size() const {
  return static_cast<int>(std::floor(parents_fraction * population_size + 1e-9));
}

void SelectionConfig::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument("selection config: " + what); };
  if (population_size < 4)
    fail("population_size = " + std::to_string(population_size) + "; PBT-NAS needs at least 4 members");
  if (!(survive_fraction > 0.0 && survive_fraction < 1.0))
    fail("survive_fraction = " + std::to_string(survive_fraction) + "; it must lie in (0, 1) (paper: 0.75)");
  if (!(parents_fraction > 0.0 && parents_fraction <= survive_fraction))
    fail("parents_fraction = " + std::to_string(parents_fraction) +
         "; it must lie in (0, survive_fraction] so that parents are never replaced (paper: 0.25)");
  const int elites = n_elites();
  const int replaced = population_size - elites;
  if (elites < 2 || replaced < 1)
    fail("survive_fraction " + std::to_string(survive_fraction) + " keeps " + std::to_string(elites) + " of " +
         std::to_string(population_size) + " members; at least 2 must survive and at least 1 be replaced");
  if (top_size() < 2)
    fail("parents_fraction " + std::to_string(parents_fraction) + " of population_size " +
         std::to_string(population_size) + " gives a top set of " + std::to_string(top_size()) +
         " member(s); two distinct parents need at least 2 (raise parents_fraction or population_size)");
  if (n_children != replaced)
    fail("n_children = " + std::to_string(n_children) + " but population_size - int(survive_fraction * "
         "population_size) = " + std::to_string(population_size) + " - " + std::to_string(elites) + " = " +
         std::to_string(replaced) + "; set n_children to " + std::to_string(replaced) +
         " (or leave it out: it defaults to that value)");
  validate_beyond_paper();
}

void SelectionConfig::validate_beyond_paper() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument("selection config: " + what); };
  if (objectives.empty() || objectives[0] != Objective::Fitness)
    fail("selection.objectives must begin with fitness, e.g. [fitness, -parameters] or [fitness, -latency_ms]");
  for (std::size_t i = 0; i < objectives.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (objectives[i] == objectives[j])
        fail(std::string("selection.objectives names ") + to_string(objectives[i]) + " twice; name each once");
  if (latency_repeats < 1 || latency_repeats > 10000)
    fail("selection.latency_repeats = " + std::to_string(latency_repeats) + "; expected an integer in [1, 10000]");
  if (scheme != "greedy" && scheme != "multi_frequency")
    fail("selection.scheme = '" + scheme + "' is not valid; expected greedy (the paper) or multi_frequency");
  if (!multi_frequency()) return;
  if (subpopulations() < 2 || subpopulations() > population_size)
    fail("selection.frequencies has " + std::to_string(subpopulations()) +
         " entries; multi_frequency needs one per sub-population, at least 2 (e.g. [1, 2, 4])");
  for (int f : frequencies)
    if (f < 1 || f > 1000000)
      fail("selection.frequencies holds " + std::to_string(f) + "; each must be an integer >= 1 (exploit steps "
           "between two exploits of its sub-population)");
  for (int k = 0; k < subpopulations(); ++k) {
    const int n = static_cast<int>(subpopulation(k).size());
    const int elites = subpopulation_elites(n);
    if (elites < 2 || n - elites < 1 || subpopulation_top(n) > elites)
      fail("population_size " + std::to_string(population_size) + " split into " +
           std::to_string(subpopulations()) + " sub-populations (selection.frequencies) gives sub-population " +
           std::to_string(k) + " " + std::to_string(n) + " members, of which int(survive_fraction * " +
           std::to_string(n) + ") = " + std::to_string(elites) +
           " survive; each needs at least 2 survivors, 1 replaced member and a top set of 2 within the "
           "survivors: raise population_size or name fewer frequencies");
  }
}

bool SelectionConfig::needs(Objective o) const {
  for (Objective x : objectives)
    if (x == o) return true;
  return false;
}

std::vector<int> SelectionConfig::subpopulation(int k) const {
  std::vector<int> ids;
  for (int i = k; i < population_size; i += subpopulations()) ids.push_back(i);
  return ids;
}

int SelectionConfig::subpopulation_elites(int n) const {
  return static_cast<int>(std::floor(survive_fraction * n + 1e-9));
}

int SelectionConfig::subpopulation_top(int n) const {
  return std::max(2, static_cast<int>(std::floor(parents_fraction * n + 1e-9)));
}

std::vector<int> evolving_subpopulations(const SelectionConfig& sel, int exploit_index) {
  std::vector<int> ks;
  for (int k = 0; k < sel.subpopulations(); ++k)
    if ((exploit_index + 1) % sel.frequencies[static_cast<std::size_t>(k)] == 0) ks.push_back(k);
  return ks;
}

std::vector<int> rank_by_fitness(const std::vector<double>& last_fitness) {
  std::vector<int> ids(last_fitness.size());
  std::iota(ids.begin(), ids.end(), 0);
  auto key = [&](int i) { return std::isnan(last_fitness[i]) ? -INFINITY : last_fitness[i]; };
  std::stable_sort(ids.begin(), ids.end(), [&](int a, int b) { return key(a) > key(b); });
  return ids;
}

ParentPair draw_parents(const std::vector<int>& top, const std::vector<double>& last_fitness, Rng& rng) {
  if (top.size() < 2) throw std::invalid_argument("draw_parents: the top set needs at least 2 members");
  const std::size_t i = rng.below(top.size());
  std::size_t j = rng.below(top.size() - 1);
  if (j >= i) ++j;
  const int a = top[i], b = top[j];
  auto key = [&](int m) { return std::isnan(last_fitness[m]) ? -INFINITY : last_fitness[m]; };
  // Better first; on a tie the draw order is kept.
  if (key(b) > key(a)) return {b, a, a};
  return {a, b, a};
}

std::vector<int> replaced_slots(const std::vector<double>& last_fitness, int n_elites) {
  const auto ranked = rank_by_fitness(last_fitness);
  std::vector<int> slots(ranked.begin() + std::min<std::size_t>(n_elites, ranked.size()), ranked.end());
  std::sort(slots.begin(), slots.end());
  return slots;
}

}  // namespace pbtnas
