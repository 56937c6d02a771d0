// selection.scheme multi_frequency (docs/algorithm.md, "Beyond the paper: a less greedy
// selection") on hand-made populations: which sub-populations exploit when, truncation inside a
// sub-population, migration, and validation.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "pbtnas/core/config.hpp"
#include "pbtnas/core/population.hpp"
#include "pbtnas/core/study.hpp"
#include "support/seed.hpp"

using namespace pbtnas;

namespace {

SearchSpace two_genes() {
  return SearchSpace("test", {{"g0", {"a", "b"}, {"cells.0"}, false}, {"g1", {"a", "b"}, {"cells.1"}, false}});
}

RunConfig mf_config(int n, std::vector<int> frequencies) {
  RunConfig cfg;
  cfg.seed = test::test_seed();
  cfg.max_epochs = 100;
  cfg.epochs_step = 1;
  cfg.selection.population_size = n;
  cfg.selection.n_children = n - cfg.selection.n_elites();
  cfg.selection.scheme = "multi_frequency";
  cfg.selection.frequencies = std::move(frequencies);
  return cfg;
}

std::set<int> slots_of(const ExploitPlan& plan) {
  std::set<int> s;
  for (const auto& c : plan.children) s.insert(c.slot);
  return s;
}

}  // namespace

TEST_CASE("multi_frequency: sub-population k exploits at every f_k-th exploit step") {
  SelectionConfig s;
  s.scheme = "multi_frequency";
  s.frequencies = {1, 2, 4};
  CHECK(evolving_subpopulations(s, 0) == std::vector<int>{0});
  CHECK(evolving_subpopulations(s, 1) == std::vector<int>{0, 1});
  CHECK(evolving_subpopulations(s, 2) == std::vector<int>{0});
  CHECK(evolving_subpopulations(s, 3) == std::vector<int>{0, 1, 2});
  s.population_size = 12;
  CHECK(s.subpopulation(1) == std::vector<int>{1, 4, 7, 10});
}

TEST_CASE("multi_frequency: only due sub-populations are replaced, from their own top, worst first") {
  const auto space = two_genes();
  RunConfig cfg = mf_config(12, {1, 2, 4});
  cfg.selection.migration = false;
  Population pop(space, 12, cfg.seed);
  // Sub-population 0 = {0, 3, 6, 9}, 1 = {1, 4, 7, 10}, 2 = {2, 5, 8, 11}; fitness = id / 100.
  std::vector<double> f;
  for (int i = 0; i < 12; ++i) f.push_back(i / 100.0);
  pop.record_fitness(f);
  // Generation 0 is exploit step 0: sub-population 0 alone; its worst (0) is replaced by a child
  // of its top two (9 and 6).
  auto plan = pop.plan(cfg, space, 0);
  CHECK(slots_of(plan) == std::set<int>{0});
  for (const auto& c : plan.children) {
    CHECK(c.parent1 == 9);
    CHECK(c.parent2 == 6);
  }
  // Generation 3 is exploit step 3: every sub-population, each replacing its worst.
  plan = pop.plan(cfg, space, 3);
  CHECK(slots_of(plan) == std::set<int>{0, 1, 2});
  for (const auto& c : plan.children) {
    CHECK(c.parent1 % 3 == c.slot % 3);
    CHECK(c.parent2 % 3 == c.slot % 3);
  }
}

TEST_CASE("multi_frequency: a better member of another sub-population migrates into the worst slot") {
  const auto space = two_genes();
  RunConfig cfg = mf_config(12, {1, 2, 4});
  Population pop(space, 12, cfg.seed);
  std::vector<double> f;
  for (int i = 0; i < 12; ++i) f.push_back(i / 100.0);
  pop.record_fitness(f);
  const auto plan = pop.plan(cfg, space, 0);  // sub-population 0 only; its best (9) is below 11
  REQUIRE(plan.children.size() == 1);
  CHECK(plan.children[0].slot == 0);
  CHECK(plan.children[0].parent1 == 11);  // the migrant is the base
  CHECK((plan.children[0].parent2 == 9 || plan.children[0].parent2 == 6));  // a donor of its own top set
  // When the sub-population holds the best member, nobody migrates into it.
  std::vector<double> g = f;
  g[9] = 1.0;
  Population best(space, 12, cfg.seed);
  best.record_fitness(g);
  for (const auto& c : best.plan(cfg, space, 0).children) CHECK(c.parent1 % 3 == 0);
}

TEST_CASE("multi_frequency: plans are pure in the seed and the generation, and the exploit count follows mix_schedule") {
  const auto space = two_genes();
  RunConfig cfg = mf_config(12, {1, 2});
  cfg.mix_schedule = {4, 100};  // exploit after epochs 4, 8, ...: generation 3 is exploit step 0
  Population pop(space, 12, cfg.seed);
  std::vector<double> f;
  for (int i = 0; i < 12; ++i) f.push_back((i * 7 % 12) / 12.0);
  pop.record_fitness(f);
  // Sub-populations of 6: int(0.75 * 6) = 4 survive, 2 replaced.
  CHECK(pop.plan(cfg, space, 3).children.size() == 2);  // sub-population 0 alone
  CHECK(pop.plan(cfg, space, 7).children.size() == 4);  // exploit step 1: both
  const auto a = pop.plan(cfg, space, 7), b = pop.plan(cfg, space, 7);
  REQUIRE(a.children.size() == b.children.size());
  for (std::size_t i = 0; i < a.children.size(); ++i) {
    CHECK(a.children[i].genome == b.children[i].genome);
    CHECK(a.children[i].parent1 == b.children[i].parent1);
    CHECK(a.children[i].fresh_seed == b.children[i].fresh_seed);
  }
}

TEST_CASE("multi_frequency: sub-populations too small to select in are refused with the keys named") {
  SelectionConfig s;
  s.population_size = 8;
  s.n_children = 2;
  s.scheme = "multi_frequency";
  s.frequencies = {1, 2, 4};  // 3, 3 and 2 members: int(0.75 * 2) = 1 survivor
  CHECK_THROWS_WITH(s.validate(), Catch::Contains("selection.frequencies") && Catch::Contains("population_size"));
  s.frequencies = {1, 2};
  CHECK_NOTHROW(s.validate());
  s.frequencies = {1, 0};
  CHECK_THROWS_WITH(s.validate(), Catch::Contains("selection.frequencies holds 0"));
  s.scheme = "fire";
  CHECK_THROWS_WITH(s.validate(), Catch::Contains("selection.scheme = 'fire'"));
  const auto cfg = parse_config("population_size: 12\nselection:\n  scheme: multi_frequency\n  frequencies: [1, 3]\n"
                                "  migration: false\n", "t.yaml");
  CHECK(cfg.selection.frequencies == std::vector<int>{1, 3});
  CHECK_FALSE(cfg.selection.migration);
}

TEST_CASE("multi_frequency and objectives: the committed study files parse with every derived config") {
  const std::vector<std::pair<std::string, std::size_t>> studies{
      {"objectives", 6}, {"less_greedy", 6}, {"objectives_cluster", 30}, {"less_greedy_cluster", 20}};
  for (const auto& [name, runs] : studies) {
    INFO(name);
    const Study st = load_study(std::string(PBTNAS_SOURCE_DIR) + "/jobs/studies/" + name + ".yaml");
    CHECK(st.runs.size() == runs);
    bool changed = false;
    for (const auto& run : st.runs) {
      const RunConfig cfg = parse_config(run.config_text, name);  // the search keys (the mpi study test lists them all)
      CHECK_NOTHROW(cfg.selection.validate());
      changed = changed || cfg.selection.multi_objective() || cfg.selection.multi_frequency();
    }
    CHECK(changed);
  }
}
