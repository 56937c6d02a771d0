#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>

#include "pbtnas/core/config.hpp"
#include "pbtnas/core/mixing.hpp"
#include "pbtnas/core/population.hpp"
#include "support/seed.hpp"

using namespace pbtnas;

namespace {

SearchSpace make_space(int genes, int options) {
  std::vector<Gene> g;
  for (int i = 0; i < genes; ++i) {
    Gene gene{"g" + std::to_string(i), {}, {"cells." + std::to_string(i)}, false};
    for (int o = 0; o < options; ++o) gene.options.push_back("op" + std::to_string(o));
    g.push_back(gene);
  }
  return SearchSpace("test", g);
}

RunConfig make_config(int n, Algorithm algo = Algorithm::PbtNas) {
  RunConfig c;
  c.seed = test::test_seed();
  c.algorithm = algo;
  c.selection.population_size = n;
  c.selection.n_children = n - c.selection.n_elites();
  return c;
}

std::vector<double> distinct_fitness(int n, Rng& rng) {
  std::vector<double> f(n);
  for (auto& v : f) v = rng.uniform();
  return f;
}

}  // namespace

TEST_CASE("balanced initial population represents every option almost equally") {
  const auto space = make_space(10, 7);
  const auto genomes = balanced_genomes(space, 24, test::test_seed());
  REQUIRE(genomes.size() == 24);
  for (std::size_t g = 0; g < space.size(); ++g) {
    std::vector<int> count(7, 0);
    for (const auto& gen : genomes) count[gen[g]]++;
    for (int c : count) CHECK(c >= 24 / 7);  // floor(N/n) copies of each option at least
  }
  CHECK(balanced_genomes(space, 24, 1) == balanced_genomes(space, 24, 1));
  CHECK(balanced_genomes(space, 24, 1) != balanced_genomes(space, 24, 2));
}

TEST_CASE("N=24: 18 survivors and 6 children whose parents come only from the top 6") {
  const auto space = make_space(12, 5);
  const auto cfg = make_config(24);
  Population pop(space, 24, cfg.seed);
  Rng rng(test::test_seed());
  pop.record_fitness(distinct_fitness(24, rng));
  const auto f = pop.last_fitness();
  const auto ranked = rank_by_fitness(f);
  const std::vector<int> top(ranked.begin(), ranked.begin() + 6);
  const std::vector<int> elites(ranked.begin(), ranked.begin() + 18);
  const ExploitPlan plan = pop.plan(cfg, space, 0);
  REQUIRE(plan.children.size() == 6);
  std::vector<int> slots;
  for (const auto& c : plan.children) {
    slots.push_back(c.slot);
    CHECK(std::find(elites.begin(), elites.end(), c.slot) == elites.end());  // only non-elites replaced
    CHECK(std::find(top.begin(), top.end(), c.parent1) != top.end());
    CHECK(std::find(top.begin(), top.end(), c.parent2) != top.end());
    CHECK(c.parent1 != c.parent2);
    CHECK(f[c.parent1] >= f[c.parent2]);
    CHECK(c.kind == ChildKind::Mix);
    for (std::size_t g = 0; g < space.size(); ++g) {
      const bool swapped = std::find(c.swapped_genes.begin(), c.swapped_genes.end(), int(g)) != c.swapped_genes.end();
      CHECK(c.genome[g] == (swapped ? pop.members()[c.parent2].genome[g] : pop.members()[c.parent1].genome[g]));
    }
  }
  CHECK(std::is_sorted(slots.begin(), slots.end()));  // children fill the freed ids in ascending order
  pop.apply(plan);
  for (const auto& c : plan.children) CHECK(pop.members()[c.slot].genome == c.genome);
  for (int e : elites) CHECK(pop.members()[e].fitness == std::vector<double>{f[e]});  // elites untouched
}

TEST_CASE("swap frequency is close to p over many draws") {
  Rng rng(test::test_seed());
  for (double p : {0.25, 0.5, 0.05}) {
    const int genes = 72, trials = 2000;
    long total = 0;
    for (int t = 0; t < trials; ++t) total += static_cast<long>(draw_swapped_genes(genes, p, rng).size());
    const double n = double(genes) * trials;
    const double sigma = std::sqrt(n * p * (1 - p));
    CHECK(std::abs(total - n * p) < 5 * sigma);
  }
}

TEST_CASE("a selected gene counts as swapped even when both parents hold the same option") {
  const auto space = make_space(40, 1);  // one option: parents always agree
  auto cfg = make_config(8);
  Population pop(space, 8, cfg.seed);
  Rng rng(test::test_seed());
  pop.record_fitness(distinct_fitness(8, rng));
  const auto plan = pop.plan(cfg, space, 0);
  std::size_t swapped = 0;
  for (const auto& c : plan.children) swapped += c.swapped_genes.size();
  CHECK(swapped > 0);  // 2 children x 40 genes at p=0.25: ~20 expected
}

TEST_CASE("mix-with-itself uses parent1, the fitter of the two draws, as donor, and random search never exploits") {
  const auto space = make_space(12, 4);
  auto cfg = make_config(8);
  Population pop(space, 8, cfg.seed);
  Rng rng(test::test_seed());
  const std::vector<double> fitness = distinct_fitness(8, rng);
  pop.record_fitness(fitness);
  const auto mixing = pop.plan(cfg, space, 0).children;  // the same draws without the ablation
  cfg.mix_with_itself = true;
  const auto itself = pop.plan(cfg, space, 0).children;
  REQUIRE(itself.size() == mixing.size());
  for (std::size_t i = 0; i < itself.size(); ++i) {
    const auto& c = itself[i];
    CHECK(c.parent1 == c.parent2);
    CHECK(c.genome == pop.members()[c.parent1].genome);
    CHECK(c.parent1 == mixing[i].parent1);  // the ordered pair's better member, not the first draw
    CHECK(fitness[static_cast<std::size_t>(c.parent1)] > fitness[static_cast<std::size_t>(mixing[i].parent2)]);
  }
  cfg.algorithm = Algorithm::Random;
  CHECK(pop.plan(cfg, space, 0).empty());
}

TEST_CASE("mutation baseline: 1/3 clone, 1/3 weight mutation, 1/3 one-gene change") {
  const auto space = make_space(10, 5);
  std::map<ChildKind, int> kinds;
  Rng rng(test::test_seed());
  const Genome parent(10, 2);
  const int n = 6000;
  for (int i = 0; i < n; ++i) {
    const auto d = draw_mutation(space, parent, rng);
    kinds[d.kind]++;
    if (d.kind == ChildKind::ArchMutation) {
      REQUIRE(d.gene >= 0);
      REQUIRE(d.new_option != parent[d.gene]);  // always a different option
    }
  }
  for (auto k : {ChildKind::Clone, ChildKind::WeightMutation, ChildKind::ArchMutation})
    CHECK(std::abs(kinds[k] - n / 3) < 5 * std::sqrt(n * 2.0 / 9));
  auto cfg = make_config(8, Algorithm::Mutation);
  Population pop(space, 8, cfg.seed);
  pop.record_fitness(distinct_fitness(8, rng));
  for (const auto& c : pop.plan(cfg, space, 0).children) {
    CHECK(c.parent1 == c.parent2);
    int diff = 0;
    for (std::size_t g = 0; g < space.size(); ++g) diff += c.genome[g] != pop.members()[c.parent1].genome[g];
    CHECK(diff == (c.kind == ChildKind::ArchMutation ? 1 : 0));
  }
}

TEST_CASE("the same seed gives the same plans, another seed gives others") {
  const auto space = make_space(20, 6);
  auto cfg = make_config(12);
  auto run = [&](std::uint64_t seed) {
    cfg.seed = seed;
    Population pop(space, 12, seed);
    std::vector<std::vector<int>> out;
    for (int gen = 0; gen < 4; ++gen) {
      std::vector<double> f;
      for (const auto& m : pop.members()) f.push_back(std::sin(m.genome[0] * 7.0 + m.genome[1] + gen + m.id * 0.01));
      pop.record_fitness(f);
      const auto plan = pop.plan(cfg, space, gen);
      for (const auto& c : plan.children) {
        std::vector<int> row{c.slot, c.parent1, c.parent2};
        row.insert(row.end(), c.genome.begin(), c.genome.end());
        row.push_back(static_cast<int>(c.fresh_seed % 1000));
        out.push_back(row);
      }
      pop.apply(plan);
    }
    return out;
  };
  CHECK(run(7) == run(7));
  CHECK(run(7) != run(8));
}

TEST_CASE("lineage: every swapped gene records the donor's chain plus the new slot (no B3 slip)") {
  const auto space = make_space(16, 3);
  auto cfg = make_config(8);
  cfg.swap_probability = 0.5;
  Population pop(space, 8, cfg.seed);
  Rng rng(test::test_seed());
  pop.record_fitness(distinct_fitness(8, rng));
  const auto before = pop.members();
  const auto plan = pop.plan(cfg, space, 0);
  pop.apply(plan);
  for (const auto& c : plan.children) {
    const auto& child = pop.members()[c.slot];
    for (std::size_t g = 0; g < space.size(); ++g) {
      const bool swapped = std::find(c.swapped_genes.begin(), c.swapped_genes.end(), int(g)) != c.swapped_genes.end();
      if (swapped) {
        auto expect = before[c.parent2].lineage[g];
        expect.push_back(c.slot);
        CHECK(child.lineage[g] == expect);
      } else {
        CHECK(child.lineage[g] == before[c.parent1].lineage[g]);
      }
    }
    CHECK(child.fitness == before[c.parent1].fitness);  // continues parent1's history
    const auto& inc = pop.history()[child.incarnation];
    CHECK(inc.parent1 == c.parent1);
    CHECK(inc.parent2 == c.parent2);
    CHECK(inc.birth_generation == 0);
    CHECK(inc.changed_genes == c.swapped_genes);
    const auto& old = pop.history()[before[c.slot].incarnation];
    CHECK(old.final_generation == 0);
    CHECK(old.final_fitness == before[c.slot].last_fitness());
  }
  CHECK(pop.history().size() == 8 + plan.children.size());
}

TEST_CASE("a diverged member (NaN fitness) ranks last and is replaced") {
  const auto space = make_space(6, 3);
  auto cfg = make_config(8);
  Population pop(space, 8, cfg.seed);
  std::vector<double> f{0.9, 0.8, 0.7, 0.6, 0.5, 0.4, std::nan(""), 0.3};
  pop.record_fitness(f);
  CHECK(std::isinf(pop.members()[6].last_fitness()));
  const auto plan = pop.plan(cfg, space, 0);
  std::vector<int> slots;
  for (const auto& c : plan.children) slots.push_back(c.slot);
  CHECK(slots == std::vector<int>{6, 7});
}
