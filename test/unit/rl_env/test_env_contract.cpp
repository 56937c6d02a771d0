// What every registered environment must do (docs/rl.md, "Environments"): sizes, rewards in
// [0, 1] per control step, 1000-step episodes, determinism for a seed, contact-free resets where
// the task promises them, and random-policy returns inside the documented band.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "pbtnas/tasks/rl/env.hpp"
#include "support/seed.hpp"

using namespace pbtnas;
using namespace pbtnas::rl;

namespace {

struct Expected {
  const char* name;
  int obs;
  int action;
};
// The suite's sizes (docs/rl.md).
const Expected kSizes[] = {{"cartpole_swingup", 5, 1},
                           {"walker_run", 24, 6},
                           {"quadruped_run", 78, 12},
                           {"humanoid_run", 67, 21}};

std::vector<float> random_action(Rng& rng, int n) {
  std::vector<float> a(static_cast<std::size_t>(n));
  for (auto& v : a) v = static_cast<float>(2 * rng.uniform() - 1);
  return a;
}

// Mean undiscounted return of uniform random actions over `episodes` whole episodes.
double random_policy_return(Env& env, Rng& rng, int episodes) {
  double total = 0;
  for (int e = 0; e < episodes; ++e) {
    env.reset();
    while (!env.last()) {
      const auto a = random_action(rng, env.action_dim());
      const double r = env.step(a.data());
      REQUIRE(r >= 0.0);
      REQUIRE(r <= 1.0);
      total += r;
    }
  }
  return total / episodes;
}

}  // namespace

TEST_CASE("every environment has the suite's observation and action sizes", "[rl][env]") {
  for (const auto& entry : env_registry()) {
    INFO(entry.name);
    auto env = entry.make(1);
    bool known = false;
    for (const auto& s : kSizes) {
      if (entry.name != s.name) continue;
      known = true;
      CHECK(env->obs_dim() == s.obs);
      CHECK(env->action_dim() == s.action);
    }
    CHECK(known);
    env->reset();
    CHECK(static_cast<int>(env->observation().size()) == env->obs_dim());
    for (double v : env->observation()) CHECK(std::isfinite(v));
  }
}

TEST_CASE("episodes end by truncation after 1000 control steps", "[rl][env]") {
  for (const auto& entry : env_registry()) {
    INFO(entry.name);
    auto env = entry.make(3);
    env->reset();
    std::vector<float> zero(static_cast<std::size_t>(env->action_dim()), 0.0f);
    int steps = 0;
    while (!env->last()) {
      env->step(zero.data());
      ++steps;
    }
    CHECK(steps == Env::kTimeLimit);
    env->reset();
    CHECK(env->episode_step() == 0);
  }
}

TEST_CASE("an environment is deterministic for a seed and differs across seeds", "[rl][env]") {
  for (const auto& entry : env_registry()) {
    INFO(entry.name);
    auto run = [&](std::uint64_t seed) {
      auto env = entry.make(seed);
      Rng rng(seed * 7 + 1);
      std::vector<double> trace;
      for (int e = 0; e < 2; ++e) {
        env->reset();
        trace.insert(trace.end(), env->observation().begin(), env->observation().end());
        for (int t = 0; t < 50; ++t) {
          const auto a = random_action(rng, env->action_dim());
          trace.push_back(env->step(a.data()));
          trace.insert(trace.end(), env->observation().begin(), env->observation().end());
        }
      }
      return trace;
    };
    const auto a = run(11), b = run(11), c = run(12);
    CHECK(a == b);
    CHECK(a != c);
  }
}

TEST_CASE("random-policy returns lie inside the documented band", "[rl][env][slow]") {
  const std::uint64_t seed = test::test_seed();
  for (const auto& entry : env_registry()) {
    INFO(entry.name << " seed " << seed);
    auto env = entry.make(seed);
    Rng rng(seed + 1);
    const double mean = random_policy_return(*env, rng, 20);
    INFO("mean random-policy return over 20 episodes: " << mean);
    CHECK(mean >= entry.random_return_lo);
    CHECK(mean <= entry.random_return_hi);
  }
}
