// The RL task's shared replay pool (rl.replay: shared; docs/rl.md, "Shared replay pool"): a
// member samples from every member's committed episodes and its own new steps, the pool is a FIFO
// ring over the population's steps in member order, its checkpoint restores it exactly, and a
// shared member trains into fresh replay entries that its worker takes out as its contribution.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>

#include "pbtnas/tasks/rl/pool.hpp"
#include "pbtnas/tasks/rl/rl_task.hpp"
#include "support/rl_genome.hpp"
#include "support/seed.hpp"

using namespace pbtnas;
using namespace pbtnas::rl;

namespace {

constexpr int kObs = 3;

// A contribution of `episodes` episodes of `length` rows each; observation = tag + row index.
NamedState episodes_of(float tag, int episodes, int length) {
  const int n = episodes * length;
  torch::Tensor obs = torch::empty({n, kObs}), action = torch::empty({n, 1}), reward = torch::empty({n});
  torch::Tensor first = torch::zeros({n}, torch::kUInt8);
  for (int i = 0; i < n; ++i) {
    obs[i].fill_(tag + static_cast<float>(i));
    action[i].fill_(i % length == 0 ? 0.0f : tag);
    reward[i] = i % length == 0 ? 0.0f : 1.0f;
    first[i] = i % length == 0 ? 1 : 0;
  }
  return {{"obs", obs}, {"action", action}, {"reward", reward}, {"first", first}};
}

NamedState layout() { return ReplayBuffer::create(1, kObs, 1); }

}  // namespace

TEST_CASE("a shared pool samples from every member's episodes", "[rl][pool]") {
  ReplayPool pool(1000, layout());
  std::vector<Contribution> gen;
  for (int m = 0; m < 4; ++m) gen.push_back({m, episodes_of(1000.0f * static_cast<float>(m + 1), 2, 10)});
  pool.commit(gen);
  REQUIRE(pool.size() == 80);
  // A member's own steps of the generation: a second ring, sampled together with the pool.
  NamedState own = ReplayBuffer::create(64, kObs, 1);
  {
    ReplayBuffer buf(own);
    const float a = 9.0f;
    buf.add(std::vector<double>(kObs, 9000.0), nullptr, 0, true);
    for (int i = 1; i < 10; ++i) buf.add(std::vector<double>(kObs, 9000.0 + i), &a, 1.0, false);
  }
  const std::vector<RowRing> rings{pool.rows(), buffer_rows(own)};
  Rng rng(test::test_seed());
  std::map<int, int> hits;  // source (obs / 1000) -> samples
  for (int b = 0; b < 50; ++b) {
    const Batch batch = sample_rings(rings, 32, 2, 0.5, rng);
    for (int i = 0; i < 32; ++i) {
      const float o = batch.obs[i][0].item<float>(), next = batch.next_obs[i][0].item<float>();
      const int source = static_cast<int>(o / 1000.0f);
      ++hits[source];
      // The transition lies in one episode of one source: next = obs two steps later, reward 1 + 0.5.
      CHECK(next == o + 2.0f);
      CHECK(static_cast<int>(next / 1000.0f) == source);
      CHECK(batch.action[i][0].item<float>() == static_cast<float>(source == 9 ? 9 : source * 1000));
      CHECK(batch.reward[i][0].item<float>() == Approx(1.5));
      CHECK(batch.discount[i][0].item<float>() == Approx(0.25));
    }
  }
  // Every member's episodes and the member's own steps are drawn, in proportion to their valid
  // transitions: 4 x 16 in the pool, 8 own (about 11% own).
  REQUIRE(hits.size() == 5);
  for (int m = 1; m <= 4; ++m) CHECK(hits[m] > 250);
  CHECK(hits[9] > 100);
  CHECK(valid_transitions(pool.rows(), 2) == 64);
  CHECK(candidate_rows(rings, 2) == 78 + 8);
}

TEST_CASE("the shared pool is a FIFO ring over the population's steps in member order", "[rl][pool]") {
  ReplayPool pool(25, layout());
  pool.commit({{0, episodes_of(0, 1, 10)}, {2, episodes_of(2000, 1, 10)}});
  CHECK(pool.size() == 20);
  CHECK(pool.allocated() == 25);  // grows in chunks of at least 1,024 rows, capped at the capacity
  pool.commit({{1, episodes_of(1000, 1, 10)}, {3, episodes_of(3000, 1, 10)}});
  REQUIRE(pool.size() == 25);
  // 40 steps went in, in member order within each generation; the oldest 15 are gone.
  const std::vector<int> members = pool.row_members();
  std::vector<int> expect;
  for (int i = 0; i < 5; ++i) expect.push_back(2);
  for (int i = 0; i < 10; ++i) expect.push_back(1);
  for (int i = 0; i < 10; ++i) expect.push_back(3);
  CHECK(members == expect);
  const RowRing r = pool.rows();
  CHECK(r.obs[r.slot(0)][0].item<float>() == 2005.0f);
  CHECK(r.obs[r.slot(24)][0].item<float>() == 3009.0f);
  // The oldest stored episode lost its first steps; its remaining ones still form transitions.
  CHECK(valid_transitions(r, 1) == 4 + 9 + 9);
  // A contribution longer than the capacity keeps its newest steps only.
  pool.commit({{5, episodes_of(5000, 4, 10)}});
  CHECK(pool.size() == 25);
  CHECK(pool.rows().obs[pool.rows().slot(0)][0].item<float>() == 5015.0f);
  CHECK(pool.row_members() == std::vector<int>(25, 5));
}

TEST_CASE("the shared pool takes a generation's episodes round-robin in member order", "[rl][pool]") {
  // As concurrent writers would: every member's first episode, then every member's second; so
  // when a generation brings more steps than the capacity, FIFO keeps the newest episodes of
  // every member (the paper's Humanoid: 12 members x 500 k steps per generation, a pool of 1 M).
  ReplayPool pool(60, layout());
  pool.commit({{0, episodes_of(0, 3, 10)}, {1, episodes_of(1000, 3, 10)}, {4, episodes_of(4000, 2, 10)}});
  CHECK(pool.size() == 60);
  // 80 rows in, episode by episode: 0 1 4 | 0 1 4 | 0 1; the oldest 20 are gone.
  std::vector<int> expect;
  for (int m : {4, 0, 1, 4, 0, 1}) expect.insert(expect.end(), 10, m);
  CHECK(pool.row_members() == expect);
  const RowRing r = pool.rows();
  CHECK(r.obs[r.slot(0)][0].item<float>() == 4000.0f);   // member 4's first episode
  CHECK(r.obs[r.slot(10)][0].item<float>() == 10.0f);    // member 0's second episode
  CHECK(r.obs[r.slot(50)][0].item<float>() == 1020.0f);  // member 1's third episode
}

TEST_CASE("the shared pool's checkpoint restores it exactly and is checked against the settings", "[rl][pool]") {
  ReplayPool pool(30, layout());
  pool.commit({{0, episodes_of(0, 2, 10)}, {1, episodes_of(1000, 2, 10)}});
  ReplayPool back(30, layout());
  back.import_state(snapshot_cpu(pool.export_state()));
  CHECK(back.size() == pool.size());
  CHECK(back.row_members() == pool.row_members());
  Rng a(7), b(7);
  const Batch x = sample_rings({pool.rows()}, 16, 3, 0.9, a), y = sample_rings({back.rows()}, 16, 3, 0.9, b);
  CHECK(torch::equal(x.obs, y.obs));
  CHECK(torch::equal(x.next_obs, y.next_obs));
  CHECK(torch::equal(x.reward, y.reward));
  // Both go on identically.
  pool.commit({{2, episodes_of(2000, 1, 10)}});
  back.commit({{2, episodes_of(2000, 1, 10)}});
  const NamedState s1 = pool.export_state(), s2 = back.export_state();
  REQUIRE(s1.size() == s2.size());
  for (std::size_t i = 0; i < s1.size(); ++i) {
    INFO(s1[i].name);
    CHECK(s1[i].name.rfind("shared.pool.", 0) == 0);
    CHECK(torch::equal(s1[i].tensor, s2[i].tensor));
  }
  ReplayPool other(40, layout());
  CHECK_THROWS_WITH(other.import_state(pool.export_state()), Catch::Contains("rl.pool_capacity"));
  ReplayPool wider(30, ReplayBuffer::create(1, kObs + 1, 1));
  CHECK_THROWS_WITH(wider.import_state(pool.export_state()), Catch::Contains("rl.env"));
  CHECK_THROWS_WITH(wider.commit({{0, episodes_of(0, 1, 10)}}), Catch::Contains("member 0"));
}

TEST_CASE("a shared RL member trains into fresh replay entries that become its contribution", "[rl][pool]") {
  torch::set_num_threads(1);
  RlOptions c;
  c.env = "cartpole_swingup";
  c.hidden_dim = 8;
  c.batch_size = 8;
  c.frames_per_epoch = 600;
  c.seed_frames = 200;
  c.exploration_steps = 50;
  c.eval_episodes = 1;
  c.replay = "shared";
  c.pool_capacity = 5000;
  RlTask task(c, 3);
  CHECK(task.extra_state().size() == 1);  // no replay buffer moves with a member
  auto shared = task.make_shared_state();
  REQUIRE(shared);
  auto& pool = dynamic_cast<ReplayPool&>(*shared);
  Member m = task.create(test::rl_genome(task.space(), 1, true), test::test_seed(), torch::kCPU);
  for (const auto& e : m.extra) CHECK(e.name.rfind("replay.", 0) != 0);
  task.train(m, 0, 0, 11);  // outside a search (a soup's evaluation): no pool, no steps
  CHECK(std::isfinite(task.fitness(m)));
  task.train_shared(m, 0, 1, 11, *shared);  // 300 agent steps: 1 first row + 300 steps
  NamedState c0 = shared->take_contribution(m);
  for (const auto& e : m.extra) CHECK(e.name.rfind("replay.", 0) != 0);
  REQUIRE(c0.size() == 4);
  CHECK(c0[0].tensor.size(0) == 301);
  CHECK(c0[3].tensor[0].item<std::uint8_t>() == 1);
  pool.commit({{0, c0}});
  CHECK(pool.size() == 301);
  // The second step samples the committed pool too and contributes its own steps only.
  Member m2 = task.create(test::rl_genome(task.space(), 2, true), test::test_seed() + 1, torch::kCPU);
  task.train_shared(m2, 1, 2, 12, *shared);  // 600 agent steps, two episodes of 500 -> 2 first rows
  NamedState c1 = shared->take_contribution(m2);
  CHECK(c1[0].tensor.size(0) == 602);
  CHECK(c1[3].tensor.sum().item<std::int64_t>() == 2);
  CHECK(shared->take_contribution(m2).empty());  // taken: nothing left
  CHECK(pool.size() == 301);  // unchanged until the commit
}
