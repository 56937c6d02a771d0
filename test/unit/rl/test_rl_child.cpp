// A child of two RL members follows docs/algorithm.md, "Building a child's weights", with the RL
// layout: swapped layers of the live networks are shrink-perturbed donor layers, the same layers
// of the target critic are the donor's exactly, everything else is parent1's, the replay buffer
// is the donor's (Q3) and the optimizer state follows the positional rule.
#include <catch2/catch.hpp>

#include <cmath>

#include "pbtnas/nn/child.hpp"
#include "pbtnas/tasks/rl/replay.hpp"
#include "pbtnas/tasks/rl/rl_task.hpp"
#include "support/seed.hpp"
#include "support/rl_genome.hpp"

using namespace pbtnas;
using namespace pbtnas::rl;

namespace {

RlOptions tiny() {
  RlOptions c;
  c.hidden_dim = 8;
  c.replay_capacity = 16;
  c.nstep = 1;
  return c;
}

// Fills a member's replay buffer with `steps` steps whose observations carry `tag`.
void fill(Member& m, float tag, int steps) {
  ReplayBuffer buf(m.extra);
  const float a = tag;
  buf.add(std::vector<double>(5, tag), nullptr, 0, true);
  for (int i = 1; i < steps; ++i) buf.add(std::vector<double>(5, tag + i), &a, tag, false);
}

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

}  // namespace

TEST_CASE("an RL child's networks target critic and replay buffer follow the exploit rules", "[rl][child]") {
  RlTask task(tiny(), 5);
  const SearchSpace& space = task.space();
  Genome g1 = test::rl_genome(space, 1, true), g2 = test::rl_genome(space, 2, true);
  Member p1 = task.create(g1, test::test_seed(), torch::kCPU);
  Member p2 = task.create(g2, test::test_seed() + 1, torch::kCPU);
  fill(p1, 1.0f, 5);
  fill(p2, 100.0f, 9);
  // Make the target critics differ from the critics so "exactly the donor's target" is visible.
  {
    torch::NoGradGuard ng;
    for (auto& t : agent_parts(p2).target->critic->parameters()) t.add_(0.5);
  }
  const NamedState s1 = export_member_state(p1), s2 = export_member_state(p2);

  ChildPlan plan;
  plan.kind = ChildKind::Mix;
  plan.parent1 = 0;
  plan.parent2 = 1;
  plan.swapped_genes = {space.index_of("critic.Q1.2.op"), space.index_of("actor.feature_dim")};
  plan.genome = g1;
  for (int g : plan.swapped_genes) plan.genome[static_cast<std::size_t>(g)] = g2[static_cast<std::size_t>(g)];
  plan.fresh_seed = 99;
  const NamedState fresh = export_member_state(task.create(plan.genome, plan.fresh_seed, torch::kCPU));
  const ShrinkPerturb sp{0.4, 0.1};
  const NamedState donor = donor_tensors(space, plan.swapped_genes, s2, task.extra_state());
  const NamedState child = assemble_child(space, plan, s1, donor, fresh, sp, task.extra_state());

  int swapped_live = 0, swapped_target = 0, kept = 0;
  for (const auto& nt : child) {
    const std::string& n = nt.name;
    const bool model = starts_with(n, "model."), average = starts_with(n, "average.");
    if (model || average) {
      const std::string x = n.substr(model ? 6 : 8);
      if (space.owned_by_any(plan.swapped_genes, x)) {
        if (model) {
          ++swapped_live;
          CHECK(torch::allclose(nt.tensor, 0.4 * *find_tensor(s2, n) + 0.1 * *find_tensor(fresh, n)));
        } else {
          ++swapped_target;
          CHECK(torch::equal(nt.tensor, *find_tensor(s2, n)));
        }
      } else {
        ++kept;
        CHECK(torch::equal(nt.tensor, *find_tensor(s1, n)));
      }
    }
    if (starts_with(n, "extra.replay.")) CHECK(torch::equal(nt.tensor, *find_tensor(s2, n)));
  }
  // The actor's trunk and policy.0, and the critic's Q1.2 layer, live and target.
  CHECK(swapped_live > 0);
  CHECK(swapped_target > 0);
  CHECK(kept > 0);
  CHECK(find_tensor(child, "model.actor.trunk.fc.weight") != nullptr);
  CHECK(find_tensor(child, "average.critic.Q1.0.sn.weight_orig") != nullptr);

  // The child member imports the state; its replay buffer holds the donor's 9 steps.
  Member c = task.create(plan.genome, 1234, torch::kCPU);
  import_member_state(c, child);
  ReplayBuffer buf(c.extra);
  CHECK(buf.size() == 9);
}

TEST_CASE("a weight mutation child of an RL member may perturb its target critic", "[rl][child]") {
  RlTask task(tiny(), 5);
  const auto groups = task.mutation_groups();
  CHECK(std::find(groups.begin(), groups.end(), "average.") != groups.end());
  CHECK(std::find(groups.begin(), groups.end(), "model.") != groups.end());
}

TEST_CASE("the same genome and seed give bit-identical RL members", "[rl][child]") {
  RlTask task(tiny(), 5);
  Genome g = test::rl_genome(task.space(), 3, true);
  const NamedState a = export_member_state(task.create(g, 42, torch::kCPU));
  const NamedState b = export_member_state(task.create(g, 42, torch::kCPU));
  const NamedState c = export_member_state(task.create(g, 43, torch::kCPU));
  REQUIRE(a.size() == b.size());
  bool differs = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].name == b[i].name);
    INFO(a[i].name);
    if (a[i].name == "extra.eval.return")  // not evaluated yet: NaN in both
      CHECK((std::isnan(a[i].tensor.item<double>()) && std::isnan(b[i].tensor.item<double>())));
    else
      CHECK(torch::equal(a[i].tensor, b[i].tensor));
    if (starts_with(a[i].name, "model.") && !torch::equal(a[i].tensor, c[i].tensor)) differs = true;
  }
  CHECK(differs);
}

TEST_CASE("the target critic starts as an exact copy of the critic", "[rl][child]") {
  RlTask task(tiny(), 5);
  Member m = task.create(test::rl_genome(task.space(), 0, false), 8, torch::kCPU);
  const NamedState s = export_member_state(m);
  int compared = 0;
  for (const auto& nt : s) {
    if (!starts_with(nt.name, "average.")) continue;
    const torch::Tensor* live = find_tensor(s, "model." + nt.name.substr(8));
    REQUIRE(live != nullptr);
    CHECK(torch::equal(*live, nt.tensor));
    ++compared;
  }
  CHECK(compared > 0);
}

TEST_CASE("orthogonal init except on spectral-norm layers under the published quirk", "[rl][init]") {
  RlOptions c = tiny();
  RlTask task(c, 5);
  const SearchSpace& space = task.space();
  Genome g = test::rl_genome(space, 1, true);  // norm genes: spectral
  REQUIRE(space.gene(static_cast<std::size_t>(space.index_of("actor.norm"))).options[1] == "spectral");
  Member m = task.create(g, 3, torch::kCPU);
  const NamedState s = export_member_state(m);
  auto is_orthogonal = [](const torch::Tensor& w) {
    const torch::Tensor q = w.size(0) <= w.size(1) ? w.matmul(w.t()) : w.t().matmul(w);
    return torch::allclose(q, torch::eye(q.size(0)), 1e-4, 1e-4);
  };
  CHECK(is_orthogonal(*find_tensor(s, "model.actor.trunk.fc.weight")));          // no SN: orthogonal
  CHECK_FALSE(is_orthogonal(*find_tensor(s, "model.actor.policy.0.sn.weight_orig")));  // SN on: default
  c.sn_init_quirk = false;
  RlTask fixed(c, 5);
  const NamedState f = export_member_state(fixed.create(g, 3, torch::kCPU));
  CHECK(is_orthogonal(*find_tensor(f, "model.actor.policy.0.sn.weight_orig")));
}
