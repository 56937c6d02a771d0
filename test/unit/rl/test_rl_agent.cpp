// The DrQ-v2 agent of the RL task: replay sampling (n-step returns), one update against
// hand-computed targets, the soft update of the target critic, the exploration schedule.
#include <catch2/catch.hpp>

#include <cmath>

#include "pbtnas/core/config_section.hpp"
#include "pbtnas/tasks/rl/agent.hpp"
#include "pbtnas/tasks/registry.hpp"
#include "pbtnas/tasks/rl/rl_task.hpp"
#include "support/seed.hpp"
#include "support/rl_genome.hpp"

using namespace pbtnas;
using namespace pbtnas::rl;

namespace {

RlOptions tiny_config() {
  RlOptions c;
  c.env = "cartpole_swingup";
  c.hidden_dim = 8;
  c.batch_size = 4;
  c.replay_capacity = 64;
  c.nstep = 3;
  c.discount = 0.9;
  return c;
}

std::vector<double> obs_of(double v, int n) { return std::vector<double>(static_cast<std::size_t>(n), v); }

}  // namespace

TEST_CASE("replay samples n-step returns inside one episode", "[rl][replay]") {
  NamedState extra = ReplayBuffer::create(32, 2, 1);
  ReplayBuffer buf(extra);
  // Episode A: obs 0..5, rewards 1..5 (reward k arrives with obs k); episode B: obs 10..12.
  const float a = 0.5f;
  buf.add(obs_of(0, 2), nullptr, 0, true);
  for (int k = 1; k <= 5; ++k) buf.add(obs_of(k, 2), &a, k, false);
  buf.add(obs_of(10, 2), nullptr, 0, true);
  buf.add(obs_of(11, 2), &a, 100, false);
  buf.add(obs_of(12, 2), &a, 100, false);
  // n = 3: episode A gives starts at obs 1, 2, 3 (transitions 0->3 .. 2->5); B has only 2 steps.
  CHECK(buf.valid_transitions(3) == 3);
  Rng rng(test::test_seed());
  const Batch b = buf.sample(64, 3, 0.9, rng);
  for (int i = 0; i < 64; ++i) {
    const double o = b.obs[i][0].item<double>();
    REQUIRE(o >= 0.0);
    REQUIRE(o <= 2.0);
    CHECK(b.next_obs[i][0].item<double>() == o + 3);
    const double k = o + 1;  // the first reward of the window
    CHECK(b.reward[i][0].item<double>() == Approx(k + 0.9 * (k + 1) + 0.81 * (k + 2)));
    CHECK(b.discount[i][0].item<double>() == Approx(0.729));
    CHECK(b.action[i][0].item<double>() == 0.5);
  }
}

TEST_CASE("replay is a FIFO ring that forgets the oldest steps", "[rl][replay]") {
  NamedState extra = ReplayBuffer::create(4, 1, 1);
  ReplayBuffer buf(extra);
  const float a = 0;
  buf.add(obs_of(0, 1), nullptr, 0, true);
  for (int k = 1; k <= 5; ++k) buf.add(obs_of(k, 1), &a, k, false);
  CHECK(buf.size() == 4);
  // Stored: obs 2..5. n = 1 transitions start at obs 2, 3, 4 (the oldest has no predecessor).
  CHECK(buf.valid_transitions(1) == 3);
  Rng rng(1);
  const Batch b = buf.sample(32, 1, 0.5, rng);
  CHECK(b.obs.min().item<double>() == 2.0);
  CHECK(b.next_obs.max().item<double>() == 5.0);
}

TEST_CASE("replay tensors grow in chunks up to the capacity, so a young buffer is small", "[rl][replay]") {
  NamedState extra = ReplayBuffer::create(40000, 3, 2);  // chunks of max(1024, 40000 / 16) = 2500 rows
  CHECK(state_bytes(extra) < 100);                       // nothing allocated yet
  ReplayBuffer buf(extra);
  CHECK(buf.capacity() == 40000);
  CHECK(buf.allocated() == 0);
  const float a[2] = {0.25f, -0.5f};
  buf.add(obs_of(0, 3), nullptr, 0, true);
  for (int k = 1; k < 3000; ++k) buf.add(obs_of(k, 3), a, k, false);
  CHECK(buf.size() == 3000);
  CHECK(buf.allocated() == 5000);
  CHECK(find_tensor(extra, "replay.obs")->size(0) == 5000);  // Member::extra holds the grown tensors
  // The steps written before a growth survive it.
  CHECK(find_tensor(extra, "replay.obs")->index({2499, 0}).item<float>() == 2499.0f);
  CHECK(find_tensor(extra, "replay.reward")->index({2600}).item<float>() == 2600.0f);
  CHECK(buf.valid_transitions(1) == 2999);
  // A view made later (e.g. after a checkpoint or an exploit) sees the same buffer.
  ReplayBuffer again(extra);
  CHECK(again.size() == 3000);
  CHECK(again.capacity() == 40000);
  // Small capacities allocate at most the capacity.
  NamedState small = ReplayBuffer::create(10, 1, 1);
  ReplayBuffer s(small);
  for (int k = 0; k < 25; ++k) s.add(obs_of(k, 1), a, 1, k == 0);
  CHECK(s.allocated() == 10);
  CHECK(s.size() == 10);
}

TEST_CASE("replay buffers of the earlier layout (full-size tensors, 2-entry state) still load", "[rl][replay]") {
  NamedState old{{"replay.obs", torch::zeros({8, 1})},
                 {"replay.action", torch::zeros({8, 1})},
                 {"replay.reward", torch::zeros({8})},
                 {"replay.first", torch::zeros({8}, torch::kUInt8)},
                 {"replay.state", torch::tensor({std::int64_t{0}, std::int64_t{0}}, torch::kLong)}};
  ReplayBuffer buf(old);
  CHECK(buf.capacity() == 8);
  const float a = 0;
  for (int k = 0; k < 10; ++k) buf.add(obs_of(k, 1), &a, k, k == 0);
  CHECK(buf.size() == 8);
  CHECK(buf.allocated() == 8);
}

TEST_CASE("the exploration sigma follows the linear schedule", "[rl][agent]") {
  RlOptions c = tiny_config();
  c.stddev_start = 1.0;
  c.stddev_end = 0.1;
  c.stddev_steps = 100;
  CHECK(stddev_at(c, 0) == Approx(1.0));
  CHECK(stddev_at(c, 50) == Approx(0.55));
  CHECK(stddev_at(c, 100) == Approx(0.1));
  CHECK(stddev_at(c, 10000) == Approx(0.1));
}

TEST_CASE("one agent update matches the hand-computed critic target and soft update", "[rl][agent]") {
  RlOptions c = tiny_config();
  c.stddev_start = c.stddev_end = 0.0;  // no noise: a' = mu(s') exactly
  c.critic_tau = 0.25;
  RlTask task(c, 7);
  Member m = task.create(test::rl_genome(task.space(), 1, false), 11, torch::kCPU);
  AgentParts p = agent_parts(m);
  // Make the target differ from the critic so the soft update is visible.
  {
    torch::NoGradGuard ng;
    for (auto& t : p.target->critic->parameters()) t.add_(0.05);
  }
  torch::manual_seed(3);
  Batch b;
  b.obs = torch::randn({4, 5});
  b.next_obs = torch::randn({4, 5});
  b.action = torch::rand({4, 1}) * 2 - 1;
  b.reward = torch::rand({4, 1});
  b.discount = torch::full({4, 1}, 0.729f);

  // Hand-computed: y = r + gamma^n * min(Q1', Q2')(s', clamp(mu(s'))), loss = MSE(Q1, y) + MSE(Q2, y).
  torch::Tensor expected_loss;
  std::vector<torch::Tensor> critic_before, target_before;
  {
    torch::NoGradGuard ng;
    const auto a2 = p.nets->actor->forward(b.next_obs).clamp(-1 + 1e-6, 1 - 1e-6);
    auto [t1, t2] = p.target->critic->forward(b.next_obs, a2);
    const auto y = b.reward + b.discount * torch::min(t1, t2);
    auto [q1, q2] = p.nets->critic->forward(b.obs, b.action);
    expected_loss = ((q1 - y).pow(2).mean() + (q2 - y).pow(2).mean());
    for (auto& t : p.target->critic->parameters()) target_before.push_back(t.clone());
  }
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const UpdateStats s = update(c, p, b, 10000, gen);
  CHECK(s.critic_loss == Approx(expected_loss.item<double>()).epsilon(1e-5));
  CHECK(std::isfinite(s.actor_loss));
  // target = tau * critic(after its step) + (1 - tau) * target(before).
  const auto critic_after = p.nets->critic->parameters();
  const auto target_after = p.target->critic->parameters();
  REQUIRE(critic_after.size() == target_after.size());
  for (std::size_t i = 0; i < target_after.size(); ++i)
    CHECK(torch::allclose(target_after[i], 0.25 * critic_after[i] + 0.75 * target_before[i], 1e-5, 1e-6));
}

TEST_CASE("the actor update lowers the actor loss on a fixed batch", "[rl][agent]") {
  RlOptions c = tiny_config();
  c.lr = 1e-2;
  c.stddev_start = c.stddev_end = 0.0;
  RlTask task(c, 7);
  Member m = task.create(test::rl_genome(task.space(), 1, false), 12, torch::kCPU);
  AgentParts p = agent_parts(m);
  torch::manual_seed(4);
  Batch b{torch::randn({16, 5}), torch::rand({16, 1}) * 2 - 1, torch::rand({16, 1}), torch::full({16, 1}, 0.9f),
          torch::randn({16, 5})};
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const double first = update(c, p, b, 10000, gen).critic_loss;
  double last = first;
  for (int i = 0; i < 50; ++i) last = update(c, p, b, 10000, gen).critic_loss;
  CHECK(last < first);
}

TEST_CASE("uniform random actions during the first exploration steps only", "[rl][agent]") {
  RlOptions c = tiny_config();
  c.exploration_steps = 10;
  c.stddev_start = c.stddev_end = 0.0;
  RlTask task(c, 7);
  Member m = task.create(test::rl_genome(task.space(), 1, false), 13, torch::kCPU);
  AgentParts p = agent_parts(m);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1);
  Rng rng(2);
  const std::vector<double> obs(5, 0.3);
  const auto mean = act(c, p.nets->actor, obs, 0, true, gen, rng);
  const auto late = act(c, p.nets->actor, obs, 10, false, gen, rng);  // sigma 0: the mean
  CHECK(late[0] == Approx(mean[0]).margin(1e-6));
  int differs = 0;
  for (int i = 0; i < 20; ++i) differs += std::abs(act(c, p.nets->actor, obs, 9, false, gen, rng)[0] - mean[0]) > 1e-3;
  CHECK(differs >= 18);
}

TEST_CASE("bad rl config values are rejected with the key named", "[rl][config]") {
  auto parse = [](const std::string& yaml) {
    return RlOptions::parse(ConfigSection::root(yaml, "'t.yaml'").sub("rl"));
  };
  CHECK_NOTHROW(parse("rl:\n  env: walker_run\n"));
  CHECK_THROWS_WITH(parse("rl:\n  env: pong\n"), Catch::Contains("'rl.env'") && Catch::Contains("walker_run"));
  CHECK_THROWS_WITH(parse("rl:\n  nstep: 0\n"), Catch::Contains("'rl.nstep'"));
  CHECK_THROWS_WITH(parse("rl:\n  nstep: 600\n"), Catch::Contains("'rl.nstep'"));
  CHECK_THROWS_WITH(parse("rl:\n  replay_capacity: 2\n  nstep: 3\n"), Catch::Contains("'rl.replay_capacity'"));
  CHECK_THROWS_WITH(parse("rl:\n  frames_per_epoch: 1001\n"), Catch::Contains("'rl.frames_per_epoch'"));
  CHECK_THROWS_WITH(parse("rl:\n  discount: 1.5\n"), Catch::Contains("'rl.discount'"));
  CHECK_NOTHROW(parse("rl:\n  input: pixels\n"));
  CHECK_THROWS_WITH(parse("rl:\n  input: depth\n"), Catch::Contains("'rl.input'"));
  CHECK_THROWS_WITH(parse("rl:\n  input: pixels\n  render: glx\n"), Catch::Contains("'rl.render'"));
  CHECK_THROWS_WITH(parse("rl:\n  input: pixels\n  camera: 9\n"), Catch::Contains("'rl.camera'"));
  CHECK_THROWS_WITH(parse("rl:\n  frame_stack: 0\n"), Catch::Contains("'rl.frame_stack'"));
  CHECK_THROWS_WITH(parse("rl:\n  hidden: 5\n"), Catch::Contains("hidden"));
  CHECK_THROWS_WITH(parse("rl:\n  replay: pooled\n"), Catch::Contains("'rl.replay'") && Catch::Contains("shared"));
  CHECK_THROWS_WITH(parse("rl:\n  replay: shared\n  replay_capacity: 1000\n"),
                    Catch::Contains("'rl.replay_capacity'") && Catch::Contains("rl.pool_capacity"));
  CHECK_THROWS_WITH(parse("rl:\n  pool_capacity: 1000\n"),
                    Catch::Contains("'rl.pool_capacity'") && Catch::Contains("rl.replay: shared"));
  CHECK_THROWS_WITH(parse("rl:\n  replay: shared\n  pool_capacity: 3\n  nstep: 3\n"),
                    Catch::Contains("'rl.pool_capacity'"));
  CHECK_NOTHROW(parse("rl:\n  replay: shared\n  pool_capacity: 1000\n"));
}

TEST_CASE("the RL paper configs hold the paper's settings", "[rl][config]") {
  struct Expect {
    const char* file;
    const char* env;
    int steps, mixes, batch, nstep;
    std::int64_t capacity;
  };
  // docs/rl.md, "Configs": Walker and Quadruped mix 22 times (every 20 epochs before 150), Humanoid
  // after every one of its 15 steps but the last.
  for (const Expect& e : {Expect{"walker_run_paper", "walker_run", 30, 22, 512, 1, 1000000},
                          Expect{"quadruped_run_paper", "quadruped_run", 30, 22, 256, 3, 100000},
                          Expect{"humanoid_run_paper", "humanoid_run", 15, 14, 256, 3, 1000000}}) {
    INFO(e.file);
    const RunConfig c = load_run_config(std::string(PBTNAS_SOURCE_DIR) + "/jobs/configs/" + e.file + ".yaml");
    const auto& rl = c.options<RlOptions>();
    CHECK(c.selection.population_size == 12);
    CHECK(c.n_steps() == e.steps);
    int mixes = 0;
    for (int s = 1; s < c.n_steps(); ++s) mixes += c.mix_after(s * c.epochs_step) ? 1 : 0;
    CHECK(mixes == e.mixes);
    CHECK(rl.env == e.env);
    CHECK(rl.hidden_dim == 1024);
    CHECK(rl.batch_size == e.batch);
    CHECK(rl.nstep == e.nstep);
    // Q7: Walker and Humanoid share one pool of 1 M steps, Quadruped keeps 100 k per member.
    const bool shared = e.steps == 15 || std::string(e.env) == "walker_run";
    CHECK(rl.shared_replay() == shared);
    CHECK((shared ? rl.pool_capacity : rl.replay_capacity) == e.capacity);
    CHECK(rl.frames_per_epoch * c.max_epochs == (e.steps == 15 ? 15000000 : 3000000));
    // The released configs' pixel settings; the state-input variant is kept next to it.
    CHECK(rl.pixels());
    CHECK(rl.frame_stack == 3);
    CHECK(rl.action_repeat == 2);
    CHECK(rl.image_size == 84);
    CHECK(rl.shift_pad == 4);
    CHECK(rl.pixel_camera() == (std::string(e.env) == "quadruped_run" ? 2 : 0));
    const RunConfig st =
        load_run_config(std::string(PBTNAS_SOURCE_DIR) + "/jobs/configs/" + e.file + "_state.yaml");
    CHECK(st.options<RlOptions>().input == "state");
    CHECK(st.options<RlOptions>().batch_size == e.batch);
  }
  for (const char* file : {"smoke_pixels", "cartpole_pixels"}) {
    INFO(file);
    const RunConfig c = load_run_config(std::string(PBTNAS_SOURCE_DIR) + "/jobs/configs/" + file + ".yaml");
    CHECK(c.options<RlOptions>().pixels());
    CHECK(c.options<RlOptions>().frame_stack == 3);
  }
}
