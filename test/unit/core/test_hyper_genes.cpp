// Hyperparameter genes (core/hyper_genes.hpp): parsing, grids, perturbation, seeding, and their
// inheritance through mixing, clones and the mutation algorithm's explore step.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>

#include "pbtnas/core/config.hpp"
#include "pbtnas/core/hyper_genes.hpp"
#include "pbtnas/core/population.hpp"
#include "support/seed.hpp"

using namespace pbtnas;

namespace {

SearchSpace arch_space(int genes, int options) {
  std::vector<Gene> g;
  for (int i = 0; i < genes; ++i) {
    Gene gene{"g" + std::to_string(i), {}, {"cells." + std::to_string(i)}, false};
    for (int o = 0; o < options; ++o) gene.options.push_back("op" + std::to_string(o));
    g.push_back(gene);
  }
  return SearchSpace("test", g);
}

HyperParameter hp(const std::string& name, double min, double max, const std::string& scale, int levels = 0) {
  HyperParameter h;
  h.name = name;
  h.min = min;
  h.max = max;
  h.scale = scale;
  h.levels = levels;
  return h;
}

std::vector<HyperParameter> two_hyper() { return {hp("beta1", 0.0, 0.9, "linear"), hp("lr", 1e-4, 1e-2, "log")}; }

RunConfig config(int n, Algorithm algo) {
  RunConfig c;
  c.seed = test::test_seed();
  c.algorithm = algo;
  c.selection.population_size = n;
  c.selection.n_children = n - c.selection.n_elites();
  c.hyperparameters = two_hyper();
  return c;
}

std::vector<double> fitness_of(int n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<double> f(static_cast<std::size_t>(n));
  for (auto& v : f) v = rng.uniform();
  return f;
}

}  // namespace

TEST_CASE("hyperparameter genes: parsed sorted by name, with grids over the declared range") {
  const RunConfig c = parse_config(R"(
hyperparameters:
  weight_decay: {min: 1e-5, max: 1e-2, scale: log, levels: 4}
  lr: {min: 1e-4, max: 1e-2}
hyperparameter_mutation: {resample_probability: 0.5, perturb_factors: [0.5, 2]}
)", "t");
  REQUIRE(c.hyperparameters.size() == 2);
  CHECK(c.hyperparameters[0].name == "lr");
  CHECK(c.hyperparameters[0].scale == "log");
  const auto lr = c.hyperparameters[0].grid();
  CHECK(lr.size() == 22);  // 1 + round(ln(100) / ln(1.25))
  CHECK(lr.front() == 1e-4);
  CHECK(lr.back() == 1e-2);
  for (std::size_t i = 1; i < lr.size(); ++i) CHECK(lr[i] / lr[i - 1] == Approx(std::pow(100.0, 1.0 / 21)));
  CHECK(c.hyperparameters[1].grid() == std::vector<double>{1e-5, c.hyperparameters[1].grid()[1], c.hyperparameters[1].grid()[2], 1e-2});
  CHECK(c.hyperparameter_mutation.resample_probability == 0.5);
  CHECK(c.hyperparameter_mutation.down == 0.5);
  CHECK(c.hyperparameter_mutation.up == 2.0);
  auto has_key = [&](const RunConfig& rc, const std::string& k) {
    return std::any_of(rc.effective.begin(), rc.effective.end(), [&](const EffectiveKey& e) { return e.key == k; });
  };
  CHECK(has_key(c, "hyperparameters.lr.levels"));
  CHECK(has_key(c, "hyperparameter_mutation.perturb_factors"));
  const RunConfig off = parse_config("seed: 3\n", "t");
  CHECK(off.hyperparameters.empty());
  for (const auto& e : off.effective) CHECK(e.key.rfind("hyperparameter", 0) != 0);  // a plain config reads as before
  const auto linear = hp("beta1", 0.0, 0.9, "linear").grid();
  REQUIRE(linear.size() == 11);
  CHECK(linear[1] == Approx(0.09));
}

TEST_CASE("hyperparameter genes: bad declarations are refused with the key and the fix") {
  auto fails = [](const std::string& yaml, const std::string& part) {
    CHECK_THROWS_WITH(parse_config(yaml, "f.yaml"), Catch::Contains(part));
  };
  fails("hyperparameters: {lr: {min: 0, max: 1e-2}}\n", "'hyperparameters.lr.min'");
  fails("hyperparameters: {lr: {min: 1e-2, max: 1e-3}}\n", "max > min");
  fails("hyperparameters: {lr: {min: 1e-4, max: 1e-2, scale: exp}}\n", "'hyperparameters.lr.scale'");
  fails("hyperparameters: {lr: {min: 1e-4, max: 1e-2, levels: 1}}\n", "at least 2 levels");
  fails("hyperparameters: {lr: {min: 1e-4, max: 1e-2, scael: log}}\n", "did you mean 'hyperparameters.lr.scale'");
  fails("hyperparameters: {lr: {min: 1e-4}}\n", "'hyperparameters.lr' needs both min and max");
  fails("hyperparameters: {lr: 0.01}\n", "must be a mapping");
  fails("hyperparameters: {beta1: {min: 0, max: 1, scale: linear}}\n", "'hyperparameters.beta1.max' = 1.0 is out of range");
  fails("hyperparameters: [lr]\n", "must be a mapping");
  fails("hyperparameter_mutation: {resample_probability: 0.5}\n", "no hyperparameters are");
  fails("hyperparameters: {lr: {min: 1e-4, max: 1e-2}}\nhyperparameter_mutation: {resample_probability: 2}\n",
        "hyperparameter_mutation.resample_probability");
  fails("hyperparameters: {lr: {min: 1e-4, max: 1e-2}}\nhyperparameter_mutation: {perturb_factors: [1.2, 0.8]}\n",
        "perturb_factors[0]");
  CHECK_THROWS_WITH(check_hyperparameter_names({hp("weight_decy", 1e-5, 1e-3, "log")}, {"lr", "weight_decay"}, "classify"),
                    Catch::Contains("did you mean 'weight_decay'") && Catch::Contains("task 'classify'"));
  CHECK_THROWS_WITH(check_hyperparameter_names({hp("lr", 1e-5, 1e-3, "log")}, {}, "x"), Catch::Contains("none"));
  CHECK_NOTHROW(check_hyperparameter_names({hp("lr", 1e-5, 1e-3, "log")}, {"lr"}, "x"));
}

TEST_CASE("hyperparameter genes: appended as weightless numeric genes after the architecture") {
  const SearchSpace arch = arch_space(3, 4);
  const SearchSpace s = with_hyper_genes(arch, two_hyper());
  REQUIRE(s.size() == 5);
  CHECK(s.architecture_size() == 3);
  CHECK_FALSE(s.numeric(2));
  CHECK(s.numeric(3));
  CHECK(s.gene(3).name == "hyper.beta1");
  CHECK(s.gene(4).weightless);
  CHECK(s.gene(4).options.front() == "0.0001");
  CHECK(with_hyper_genes(s, two_hyper()).size() == 5);  // appending again replaces, never doubles
  CHECK(with_hyper_genes(arch, {}).size() == 3);
  Genome g{1, 2, 3, 10, 21};
  CHECK(*hyper_value(s, g, "lr") == 1e-2);
  CHECK(*hyper_value(s, g, "beta1") == Approx(0.9));
  CHECK_FALSE(hyper_value(s, g, "weight_decay").has_value());
  CHECK(architecture_genome(s, g) == Genome{1, 2, 3});
  CHECK(s.describe(g).find("hyper.lr=0.01") != std::string::npos);
}

TEST_CASE("hyperparameter genes: a perturbation moves x0.8 / x1.25 to the nearest level, at least one, within bounds") {
  const auto log_grid = hp("lr", 1e-4, 1e-2, "log").grid();
  const int top = static_cast<int>(log_grid.size()) - 1;
  for (int level = 0; level <= top; ++level) {
    CHECK(perturbed_level(log_grid, level, 1.25, true) == std::min(level + 1, top));
    CHECK(perturbed_level(log_grid, level, 0.8, true) == std::max(level - 1, 0));
  }
  CHECK(perturbed_level(log_grid, 5, 2.0, true) == 8);  // x2 is about three x1.245 steps
  const auto lin = hp("beta1", 0.0, 0.9, "linear").grid();
  CHECK(perturbed_level(lin, 0, 1.25, false) == 1);   // 0 x 1.25 = 0: still one step up
  CHECK(perturbed_level(lin, 10, 1.25, false) == 10);  // at the top: stays
  CHECK(perturbed_level(lin, 8, 0.8, false) == 6);     // 0.72 x 0.8 = 0.576: nearest 0.54
}

TEST_CASE("hyperparameter genes: the explore step is seeded, stays on the grid, and resamples with its probability") {
  const SearchSpace s = with_hyper_genes(arch_space(2, 3), two_hyper());
  const std::vector<HyperParameter> hyper = two_hyper();
  HyperMutation perturb_only;
  perturb_only.resample_probability = 0.0;
  HyperMutation resample_only;
  resample_only.resample_probability = 1.0;
  std::set<int> resampled_levels;
  for (std::uint64_t seed = 0; seed < 400; ++seed) {
    Genome a{0, 0, 5, 10}, b = a;
    Rng r1(seed), r2(seed);
    const auto changed = explore_hyper_genes(s, a, hyper, perturb_only, r1);
    CHECK(explore_hyper_genes(s, b, hyper, perturb_only, r2) == changed);
    CHECK(a == b);
    CHECK(std::abs(a[2] - 5) == 1);  // beta1 and lr never at a bound here: always one level
    CHECK(std::abs(a[3] - 10) == 1);
    CHECK(changed == std::vector<int>{2, 3});
    CHECK(a[0] == 0);  // architecture untouched
    Genome c{0, 0, 5, 10};
    Rng r3(seed);
    explore_hyper_genes(s, c, hyper, resample_only, r3);
    resampled_levels.insert(c[3]);
    CHECK(c[3] >= 0);
    CHECK(c[3] < 22);
  }
  CHECK(resampled_levels.size() == 22);  // a resample reaches every level
}

TEST_CASE("hyperparameter genes: initial values are balanced, seeded, and leave the architecture genes as without them") {
  const SearchSpace arch = arch_space(6, 3);
  const SearchSpace s = with_hyper_genes(arch, two_hyper());
  const Population with(s, 24, test::test_seed()), plain(arch, 24, test::test_seed());
  const Population again(s, 24, test::test_seed()), other(s, 24, test::test_seed() + 1);
  std::set<int> lr_levels;
  for (int m = 0; m < 24; ++m) {
    CHECK(architecture_genome(s, with.members()[m].genome) == plain.members()[m].genome);
    CHECK(with.members()[m].genome == again.members()[m].genome);
    lr_levels.insert(with.members()[m].genome[7]);
  }
  CHECK(lr_levels.size() == 22);  // 24 members over 22 levels: every level at least once
  bool differs = false;
  for (int m = 0; m < 24; ++m) differs = differs || other.members()[m].genome != with.members()[m].genome;
  CHECK(differs);
}

TEST_CASE("hyperparameter genes: a mixed child takes each gene from parent1 or, where swapped, from the donor") {
  const SearchSpace s = with_hyper_genes(arch_space(6, 3), two_hyper());
  RunConfig cfg = config(12, Algorithm::PbtNas);
  cfg.swap_probability = 0.5;
  Population pop(s, 12, cfg.seed);
  int swapped_hyper = 0;
  for (std::int64_t gen = 0; gen < 6; ++gen) {
    pop.record_fitness(fitness_of(12, 100 + static_cast<std::uint64_t>(gen)));
    const ExploitPlan plan = pop.plan(cfg, s, gen);
    const Population before = pop;
    pop.apply(plan);
    for (const ChildPlan& c : plan.children) {
      const Genome& p1 = before.members()[c.parent1].genome;
      const Genome& p2 = before.members()[c.parent2].genome;
      for (std::size_t g = 0; g < s.size(); ++g) {
        const bool swapped = std::count(c.swapped_genes.begin(), c.swapped_genes.end(), static_cast<int>(g)) > 0;
        CHECK(c.genome[g] == (swapped ? p2[g] : p1[g]));
        if (swapped && s.numeric(g)) ++swapped_hyper;
      }
      CHECK(pop.members()[c.slot].genome == c.genome);
    }
  }
  CHECK(swapped_hyper > 0);
}

TEST_CASE("hyperparameter genes: mutation children are explored, recorded, and their clones keep the layers") {
  const SearchSpace s = with_hyper_genes(arch_space(6, 3), two_hyper());
  RunConfig cfg = config(12, Algorithm::Mutation);
  cfg.hyperparameter_mutation.resample_probability = 0.0;
  Population pop(s, 12, cfg.seed);
  int clones = 0;
  for (std::int64_t gen = 0; gen < 6; ++gen) {
    pop.record_fitness(fitness_of(12, 200 + static_cast<std::uint64_t>(gen)));
    const ExploitPlan plan = pop.plan(cfg, s, gen);
    CHECK(pop.plan(cfg, s, gen).children.size() == plan.children.size());
    const Population before = pop;
    pop.apply(plan);
    for (const ChildPlan& c : plan.children) {
      const Genome& parent = before.members()[c.parent1].genome;
      int arch_changes = 0;
      for (std::size_t g = 0; g < s.size(); ++g) {
        if (s.numeric(g)) {
          const int step = std::abs(c.genome[g] - parent[g]);
          // lr's log grid is about x1.25 apart: one level (or held at a bound); beta1's linear grid
          // moves to the value nearest x0.8 / x1.25, possibly several levels
          if (s.gene(g).name == "hyper.lr") CHECK(step <= 1);
          const bool listed = std::count(c.swapped_genes.begin(), c.swapped_genes.end(), static_cast<int>(g)) > 0;
          CHECK(listed == (step > 0));
        } else if (c.genome[g] != parent[g]) {
          ++arch_changes;
        }
      }
      CHECK(arch_changes == (c.kind == ChildKind::ArchMutation ? 1 : 0));
      if (c.kind == ChildKind::Clone) ++clones;
      const Incarnation& inc = pop.history()[pop.members()[c.slot].incarnation];
      CHECK(inc.changed_genes == c.swapped_genes);  // the report's gene changes include the explored values
    }
  }
  CHECK(clones > 0);
}
