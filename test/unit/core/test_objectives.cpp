// Several objectives (objectives.hpp): fronts, the scattered order inside a front, and the
// plan of a population ranked by [fitness, -parameters], on hand-made populations.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include "pbtnas/core/config.hpp"
#include "pbtnas/core/objectives.hpp"
#include "pbtnas/core/population.hpp"
#include "pbtnas/core/selection.hpp"
#include "support/seed.hpp"

using namespace pbtnas;

namespace {

std::vector<int> all_ids(std::size_t n) {
  std::vector<int> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<int>(i);
  return ids;
}

}  // namespace

TEST_CASE("objectives: names parse, and a cost is negated into a maximised coordinate") {
  CHECK(parse_objective("fitness") == Objective::Fitness);
  CHECK(parse_objective("-parameters") == Objective::Parameters);
  CHECK(parse_objective("-latency_ms") == Objective::LatencyMs);
  CHECK_THROWS_WITH(parse_objective("parameters"), Catch::Contains("-parameters"));
  const auto p = objective_points({Objective::Fitness, Objective::LatencyMs}, {0.5, std::nan("")},
                                  {{10, 2.0}, {20, 3.0}});
  CHECK(p[0] == std::vector<double>{0.5, -2.0});
  CHECK(p[1][0] == -INFINITY);
  CHECK(p[1][1] == -3.0);
}

TEST_CASE("objectives: known fronts of fitness against parameters") {
  // (fitness, parameters): 0 (0.9, 100), 1 (0.8, 50), 2 (0.7, 10), 3 (0.8, 100), 4 (0.6, 60),
  // 5 (0.5, 10), 6 diverged with few parameters.
  const std::vector<double> f{0.9, 0.8, 0.7, 0.8, 0.6, 0.5, -INFINITY};
  const std::vector<MemberCosts> c{{100, 0}, {50, 0}, {10, 0}, {100, 0}, {60, 0}, {10, 0}, {1, 0}};
  const auto p = objective_points({Objective::Fitness, Objective::Parameters}, f, c);
  const auto fronts = non_dominated_fronts(p, all_ids(p.size()));
  REQUIRE(fronts.size() == 3);
  CHECK(fronts[0] == std::vector<int>{0, 1, 2});
  CHECK(fronts[1] == std::vector<int>{3, 4, 5});
  CHECK(fronts.back() == std::vector<int>{6});  // a diverged member is last whatever its costs
  CHECK(pareto_front(p) == std::vector<int>{0, 1, 2});
}

TEST_CASE("objectives: equal points share a front and keep id order") {
  const auto p = objective_points({Objective::Fitness, Objective::Parameters}, {0.5, 0.5, 0.5},
                                  {{10, 0}, {10, 0}, {10, 0}});
  const auto fronts = non_dominated_fronts(p, {2, 0, 1});
  REQUIRE(fronts.size() == 1);
  CHECK(fronts[0] == std::vector<int>{0, 1, 2});
  CHECK(rank_by_objectives(p, {2, 0, 1}) == std::vector<int>{0, 1, 2});
}

TEST_CASE("objectives: inside a front, the extremes come first, then the most isolated member") {
  // One front along a line: fitness 1.0 .. 0.0 against parameters 100 .. 0. Extremes: 0 (best
  // fitness) then 5 (fewest parameters); the member farthest from both is the middle one.
  const std::vector<double> f{1.0, 0.9, 0.8, 0.5, 0.1, 0.0};
  const std::vector<MemberCosts> c{{100, 0}, {90, 0}, {80, 0}, {50, 0}, {10, 0}, {0, 0}};
  const auto p = objective_points({Objective::Fitness, Objective::Parameters}, f, c);
  const auto ids = all_ids(p.size());
  REQUIRE(non_dominated_fronts(p, ids).size() == 1);
  const auto order = scattered_order(p, ids, ids);
  REQUIRE(order.size() == 6);
  CHECK(order[0] == 0);
  CHECK(order[1] == 5);
  CHECK(order[2] == 3);  // (0.5, 50): farthest from both ends
  // Scaled, the nearest taken member is 0.28 away for 2 and 0.14 for 1 and 4: 2; then 1 and 4
  // (equally far up to rounding).
  CHECK(order[3] == 2);
  CHECK(std::min(order[4], order[5]) == 1);
  CHECK(std::max(order[4], order[5]) == 4);
}

TEST_CASE("objectives: with fitness alone the ranking is rank_by_fitness (ties, NaN, -inf)") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Rng rng(test::test_seed());
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<double> f(12);
    for (auto& v : f) v = std::floor(rng.uniform() * 5) / 5;  // many ties
    f[rng.below(12)] = nan;
    f[rng.below(12)] = -INFINITY;
    const auto p = objective_points({Objective::Fitness}, f, {});
    CHECK(rank_by_objectives(p, all_ids(12)) == rank_by_fitness(f));
  }
}

TEST_CASE("objectives: a plan by fitness and -parameters keeps the front and replaces dominated members") {
  RunConfig cfg;
  cfg.seed = test::test_seed();
  cfg.selection.population_size = 8;
  cfg.selection.n_children = 2;
  cfg.selection.parents_fraction = 0.25;
  cfg.selection.objectives = {Objective::Fitness, Objective::Parameters};
  std::vector<Gene> genes{{"g0", {"a", "b"}, {"cells.0"}, false}, {"g1", {"a", "b"}, {"cells.1"}, false}};
  const SearchSpace space("test", genes);
  Population pop(space, 8, cfg.seed);
  // Member 7 has the lowest fitness but the fewest parameters: on the front, it survives; the two
  // dominated members with the lowest fitness (5 and 6) are replaced.
  pop.record_fitness({0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.1});
  CHECK_THROWS_WITH(pop.plan(cfg, space, 0), Catch::Contains("record_costs"));
  pop.record_costs({{100, 0}, {100, 0}, {100, 0}, {100, 0}, {100, 0}, {100, 0}, {100, 0}, {5, 0}});
  const auto ranked = pop.ranked(cfg.selection);
  CHECK(ranked[0] == 0);
  CHECK(ranked[1] == 7);  // the other extreme of the first front
  CHECK(pop.pareto_front(cfg.selection) == std::vector<int>{0, 7});
  const auto plan = pop.plan(cfg, space, 0);
  REQUIRE(plan.children.size() == 2);
  CHECK(plan.children[0].slot == 5);
  CHECK(plan.children[1].slot == 6);
  for (const auto& c : plan.children) {  // parents: the top set {0, 7}, 0 the better (first)
    CHECK(c.parent1 == 0);
    CHECK(c.parent2 == 7);
  }
}

TEST_CASE("objectives: selection keys are validated with the key named") {
  SelectionConfig s;
  s.objectives = {Objective::Parameters, Objective::Fitness};
  CHECK_THROWS_WITH(s.validate(), Catch::Contains("selection.objectives must begin with fitness"));
  s.objectives = {Objective::Fitness, Objective::Parameters, Objective::Parameters};
  CHECK_THROWS_WITH(s.validate(), Catch::Contains("twice"));
  s.objectives = {Objective::Fitness, Objective::LatencyMs};
  s.latency_repeats = 0;
  CHECK_THROWS_WITH(s.validate(), Catch::Contains("selection.latency_repeats = 0"));
}

TEST_CASE("objectives: the selection section parses, and unknown names are refused") {
  const auto cfg = parse_config("selection:\n  objectives: [fitness, -latency_ms]\n  latency_repeats: 5\n", "t.yaml");
  CHECK(cfg.selection.objectives == std::vector<Objective>{Objective::Fitness, Objective::LatencyMs});
  CHECK(cfg.selection.latency_repeats == 5);
  CHECK_THROWS_WITH(parse_config("selection:\n  objectives: [fitness, size]\n", "t.yaml"),
                    Catch::Contains("selection.objectives") && Catch::Contains("-parameters"));
  CHECK_THROWS_WITH(parse_config("selection:\n  objective: [fitness]\n", "t.yaml"), Catch::Contains("objective"));
  const auto plain = parse_config("", "t.yaml");
  CHECK_FALSE(plain.selection.multi_objective());
  CHECK_FALSE(plain.selection.multi_frequency());
}
