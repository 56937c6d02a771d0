#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include "pbtnas/core/selection.hpp"
#include "support/seed.hpp"

using namespace pbtnas;

TEST_CASE("paper settings: N=24 keeps 18 elites, top set of 6, 6 children") {
  SelectionConfig c{24, 6, 0.25, 0.75};
  CHECK(c.n_elites() == 18);
  CHECK(c.top_size() == 6);
  CHECK_NOTHROW(c.validate());
  SelectionConfig rl{12, 3, 0.25, 0.75};
  CHECK(rl.n_elites() == 9);
  CHECK(rl.top_size() == 3);
  CHECK_NOTHROW(rl.validate());
}

TEST_CASE("selection settings that the released code would crash on are rejected up front") {
  CHECK_THROWS_WITH((SelectionConfig{24, 5, 0.25, 0.75}.validate()),
                    Catch::Contains("n_children = 5") && Catch::Contains("set n_children to 6"));
  CHECK_THROWS_WITH((SelectionConfig{24, 7, 0.25, 0.75}.validate()), Catch::Contains("n_children"));
  CHECK_THROWS_WITH((SelectionConfig{3, 1, 0.25, 0.75}.validate()), Catch::Contains("population_size"));
  CHECK_THROWS_WITH((SelectionConfig{8, 2, 0.1, 0.75}.validate()), Catch::Contains("top set of 0"));
  CHECK_THROWS_WITH((SelectionConfig{8, 2, 0.9, 0.75}.validate()), Catch::Contains("parents_fraction"));
  CHECK_THROWS_WITH((SelectionConfig{8, 2, 0.25, 1.0}.validate()), Catch::Contains("survive_fraction"));
}

TEST_CASE("ranking puts NaN and -inf last and breaks ties by lower id") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const auto r = rank_by_fitness({0.5, nan, 0.9, 0.5, -inf, 0.7});
  CHECK(r == std::vector<int>{2, 5, 0, 3, 1, 4});
}

TEST_CASE("replaced slots are the non-elites in ascending id order") {
  const std::vector<double> f{0.1, 0.9, 0.3, 0.8, 0.2, 0.7, 0.6, 0.5};
  CHECK(replaced_slots(f, 6) == std::vector<int>{0, 4});
}

TEST_CASE("parents are two distinct top members, better first, and every pair occurs") {
  Rng rng(test::test_seed());
  const std::vector<double> f{0.1, 0.9, 0.3, 0.8, 0.2, 0.7};
  const std::vector<int> top{1, 3, 5};
  std::vector<std::vector<int>> seen(6, std::vector<int>(6, 0));
  std::vector<int> first_seen(6, 0);
  for (int i = 0; i < 3000; ++i) {
    const auto p = draw_parents(top, f, rng);
    REQUIRE(p.better != p.worse);
    REQUIRE(std::find(top.begin(), top.end(), p.better) != top.end());
    REQUIRE(std::find(top.begin(), top.end(), p.worse) != top.end());
    REQUIRE(f[p.better] >= f[p.worse]);
    REQUIRE((p.first == p.better || p.first == p.worse));
    seen[p.better][p.worse]++;
    first_seen[p.first]++;
  }
  // The first draw alone is uniform over the top set (the no-mixing ablation's parent).
  for (int m : top) CHECK(std::abs(first_seen[m] - 1000) < 5 * std::sqrt(3000 * 2.0 / 9));
  // Three unordered pairs, each ~1/3 of draws.
  for (auto [a, b] : {std::pair{1, 3}, {1, 5}, {3, 5}}) CHECK(std::abs(seen[a][b] - 1000) < 5 * std::sqrt(3000 * 2.0 / 9));
}
