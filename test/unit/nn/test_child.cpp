#include <catch2/catch.hpp>

#include "pbtnas/nn/child.hpp"
#include "pbtnas/nn/member.hpp"
#include "support/seed.hpp"
#include "support/toy_model.hpp"

using namespace pbtnas;
using pbtnas::test::make_toy_member;
using pbtnas::test::test_seed;
using pbtnas::test::toy_genome;
using pbtnas::test::toy_space;
using pbtnas::test::train_toy_member;

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

std::string strip_group(const std::string& name) { return name.substr(name.find('.') + 1); }

// Parent1 (all narrow cells), parent2 (cell 1 wide, other weights), both trained so that each
// live model differs from its average; a Mix plan swapping genes 1 and 5 into slot 3.
struct MixFixture {
  SearchSpace space = toy_space();
  std::uint64_t seed = test_seed();
  Genome g1 = toy_genome(0);
  Genome g2 = [] {
    Genome g = toy_genome(0);
    g[1] = 1;
    g[11] = 1;
    return g;
  }();
  ChildPlan plan;
  NamedState s1, s2, fresh;

  MixFixture() {
    Member p1 = make_toy_member(g1, seed);
    Member p2 = make_toy_member(g2, seed + 1);
    train_toy_member(p1, 2, seed + 2);
    train_toy_member(p2, 3, seed + 3);
    s1 = export_member_state(p1);
    s2 = export_member_state(p2);
    plan.slot = 3;
    plan.parent1 = 0;
    plan.parent2 = 6;
    plan.kind = ChildKind::Mix;
    plan.swapped_genes = {1, 5};
    plan.genome = g1;
    for (int g : plan.swapped_genes) plan.genome[static_cast<std::size_t>(g)] = g2[static_cast<std::size_t>(g)];
    plan.fresh_seed = seed + 4;
    fresh = export_member_state(make_toy_member(plan.genome, plan.fresh_seed));
  }
  NamedState donor() const { return donor_tensors(space, plan.swapped_genes, s2); }
  NamedState child(const ShrinkPerturb& sp = {}) const {
    return assemble_child(space, plan, s1, donor(), fresh, sp);
  }
  const torch::Tensor& at(const NamedState& s, const std::string& name) const {
    const torch::Tensor* t = find_tensor(s, name);
    if (t == nullptr) FAIL("missing " << name);
    return *t;
  }
};

}  // namespace

TEST_CASE("donor_tensors selects exactly the swapped genes' model and average tensors", "[child]") {
  MixFixture f;
  const NamedState d = donor_tensors(f.space, {1}, f.s2);
  REQUIRE(d.size() == 8);  // 4 tensors of cells.1, in model and in average
  for (const auto& nt : d) {
    INFO(nt.name);
    CHECK((starts_with(nt.name, "model.cells.1.") || starts_with(nt.name, "average.cells.1.")));
    CHECK_FALSE(starts_with(strip_group(nt.name), "cells.10"));
  }
  CHECK(donor_tensors(f.space, {}, f.s2).empty());
  CHECK(donor_tensors(f.space, {11}, f.s2).empty());  // weightless gene owns no tensor
}

TEST_CASE("assemble_child keeps untouched tensors bit-identical to parent1 and shrink-perturbs swapped ones",
          "[child]") {
  MixFixture f;
  const NamedState child = f.child();
  int swapped = 0, kept = 0;
  for (const auto& nt : child) {
    INFO(nt.name);
    if (!starts_with(nt.name, "model.")) continue;
    const bool own = f.space.owned_by_any(f.plan.swapped_genes, strip_group(nt.name));
    if (own && nt.tensor.is_floating_point()) {
      const auto expect = 0.4 * f.at(f.s2, nt.name) + 0.1 * f.at(f.fresh, nt.name);
      CHECK(torch::allclose(nt.tensor, expect, 1e-6, 1e-7));
      ++swapped;
    } else {
      CHECK(torch::equal(nt.tensor, f.at(f.s1, nt.name)));
      ++kept;
    }
  }
  CHECK(swapped == 8);
  CHECK(kept > 30);
  // Names follow the fresh child's order, then parent1's optimizer entries unchanged.
  std::size_t i = 0;
  for (const auto& nt : f.fresh)
    if (!starts_with(nt.name, "optim.")) CHECK(child.at(i++).name == nt.name);
  for (const auto& nt : f.s1)
    if (starts_with(nt.name, "optim.")) {
      REQUIRE(i < child.size());
      CHECK(child[i].name == nt.name);
      CHECK(torch::equal(child[i++].tensor, nt.tensor));
    }
  CHECK(i == child.size());
  for (const auto& nt : child) {  // never aliases an input
    CHECK(nt.tensor.data_ptr() != f.at(f.s1, nt.name).data_ptr());
  }
}

TEST_CASE("a gene owning cells.1 does not take cells.10 (exact dotted prefix)", "[child]") {
  MixFixture f;
  f.plan.swapped_genes = {1};
  f.plan.genome = f.g1;
  f.plan.genome[1] = f.g2[1];
  f.fresh = export_member_state(make_toy_member(f.plan.genome, f.plan.fresh_seed));
  const NamedState child = f.child();
  for (const auto& nt : child) {
    if (!starts_with(strip_group(nt.name), "cells.10.")) continue;
    INFO(nt.name);
    CHECK(torch::equal(nt.tensor, f.at(f.s1, nt.name)));
    CHECK_FALSE(torch::equal(nt.tensor, f.at(f.s2, nt.name)));
  }
  CHECK(f.at(child, "model.cells.1.0.weight").sizes() == f.at(f.s2, "model.cells.1.0.weight").sizes());
}

TEST_CASE("assemble_child copies the donor's average of swapped layers exactly", "[child]") {
  MixFixture f;
  for (const ShrinkPerturb sp : {ShrinkPerturb{}, ShrinkPerturb{0.0, 1.0}}) {
    const NamedState child = f.child(sp);
    for (const auto& nt : child) {
      if (!starts_with(nt.name, "average.")) continue;
      INFO(nt.name);
      if (f.space.owned_by_any(f.plan.swapped_genes, strip_group(nt.name)))
        CHECK(torch::equal(nt.tensor, f.at(f.s2, nt.name)));
      else
        CHECK(torch::equal(nt.tensor, f.at(f.s1, nt.name)));
    }
    // Ablation [0,1]: the live swapped layers are the fresh tensors themselves.
    if (sp.shrink == 0.0)
      CHECK(torch::equal(f.at(child, "model.cells.5.0.weight"), f.at(f.fresh, "model.cells.5.0.weight")));
  }
  // The average really differs from the live donor model (training moved the model only).
  CHECK_FALSE(torch::equal(f.at(f.s2, "average.cells.1.0.weight"), f.at(f.s2, "model.cells.1.0.weight")));
}

TEST_CASE("a mixed child imports into a member with its genome, reshaped positions start fresh",
          "[child]") {
  MixFixture f;
  Member m = make_toy_member(f.plan.genome, f.seed + 50);
  import_member_state(m, f.child());
  const NamedState back = export_member_state(m);
  CHECK(torch::equal(f.at(back, "model.cells.0.0.weight"), f.at(f.s1, "model.cells.0.0.weight")));
  // cells.1 widened: its 0.weight, 0.bias, 1.weight positions (4, 5, 6) lost their moments.
  CHECK(find_tensor(back, "optim.0.4.exp_avg") == nullptr);
  CHECK(find_tensor(back, "optim.0.6.exp_avg") == nullptr);
  REQUIRE(find_tensor(back, "optim.0.7.exp_avg") != nullptr);
  CHECK(torch::equal(f.at(back, "optim.0.7.exp_avg"), f.at(f.s1, "optim.0.7.exp_avg")));
}

TEST_CASE("architecture mutation takes the swapped gene's model and average tensors from the fresh network",
          "[child]") {
  MixFixture f;
  f.plan.kind = ChildKind::ArchMutation;
  f.plan.parent2 = f.plan.parent1;
  f.plan.swapped_genes = {4};
  f.plan.genome = f.g1;
  f.plan.genome[4] = 1;
  f.fresh = export_member_state(make_toy_member(f.plan.genome, f.plan.fresh_seed));
  const NamedState child = assemble_child(f.space, f.plan, f.s1, {}, f.fresh, {});
  for (const auto& nt : child) {
    if (starts_with(nt.name, "optim.")) continue;
    INFO(nt.name);
    const bool own = f.space.owns(4, strip_group(nt.name));
    CHECK(torch::equal(nt.tensor, f.at(own ? f.fresh : f.s1, nt.name)));
  }
}

TEST_CASE("clone and weight-mutation children are plain copies of parent1", "[child]") {
  MixFixture f;
  for (ChildKind kind : {ChildKind::Clone, ChildKind::WeightMutation}) {
    f.plan.kind = kind;
    f.plan.swapped_genes.clear();
    const NamedState child = assemble_child(f.space, f.plan, f.s1, {}, {}, {});
    REQUIRE(child.size() == f.s1.size());
    for (std::size_t i = 0; i < child.size(); ++i) {
      CHECK(child[i].name == f.s1[i].name);
      CHECK(torch::equal(child[i].tensor, f.s1[i].tensor));
      CHECK(child[i].tensor.data_ptr() != f.s1[i].tensor.data_ptr());
    }
    f.plan.swapped_genes = {1};
    CHECK_THROWS_WITH(assemble_child(f.space, f.plan, f.s1, {}, {}, {}), Catch::Contains("fix the exploit plan"));
  }
}

TEST_CASE("assemble_child names the tensor, slot and parents when a tensor is missing or misshapen",
          "[child]") {
  MixFixture f;
  SECTION("missing donor tensor") {
    NamedState d = f.donor();
    d.erase(d.begin());
    const std::string name = f.donor().front().name;
    CHECK_THROWS_WITH(assemble_child(f.space, f.plan, f.s1, d, f.fresh, {}),
                      Catch::Contains(name) && Catch::Contains("slot 3") && Catch::Contains("parent1 0") &&
                          Catch::Contains("parent2 6"));
  }
  SECTION("donor of another architecture") {
    f.plan.genome[1] = 0;  // fresh built narrow, donor is wide
    f.fresh = export_member_state(make_toy_member(f.plan.genome, f.plan.fresh_seed));
    CHECK_THROWS_WITH(f.child(), Catch::Contains("model.cells.1.0.weight") && Catch::Contains("shape"));
  }
  SECTION("parent1 lacks a tensor the child inherits") {
    NamedState p1 = f.s1;
    p1.erase(p1.begin());
    CHECK_THROWS_WITH(assemble_child(f.space, f.plan, p1, f.donor(), f.fresh, {}),
                      Catch::Contains(f.s1.front().name) && Catch::Contains("parent1"));
  }
}
