// cartpole_swingup's own facts (docs/rl.md, "cartpole_swingup"): model, observation layout,
// reward terms, swing-up reset, actuation.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "pbtnas/tasks/rl/env.hpp"
#include "pbtnas/tasks/rl/envs.hpp"

using namespace pbtnas;
using namespace pbtnas::rl;

namespace {

constexpr double kPi = 3.14159265358979323846;

const Physics& phys(const Env& env) { return env.physics(); }

// After a reset, puts the cart at x with the pole at angle theta (0 = upright), both at rest,
// and recomputes the derived quantities.
void place(Env& env, double x, double theta, double v = 0.0, double omega = 0.0) {
  env.reset();
  const mjModel* m = phys(env).model();
  mjData* d = phys(env).data();
  d->qpos[0] = x;
  d->qpos[1] = theta;
  d->qvel[0] = v;
  d->qvel[1] = omega;
  mj_forward(m, d);
}

double step_with(Env& env, float action) { return env.step(&action); }

}  // namespace

TEST_CASE("cartpole model has the suite's sizes and physical facts", "[rl][env][cartpole]") {
  auto env = make_cartpole_swingup(1);
  const mjModel* m = phys(*env).model();
  CHECK(m->nq == 2);
  CHECK(m->nv == 2);
  CHECK(m->nu == 1);
  CHECK(m->opt.timestep == Approx(0.01));
  CHECK(m->opt.integrator == mjINT_RK4);
  CHECK(env->control_timestep() == Approx(0.01));
  const int slider = phys(*env).joint("slider");
  CHECK(m->jnt_type[slider] == mjJNT_SLIDE);
  CHECK(m->jnt_limited[slider] == 1);
  CHECK(m->jnt_range[2 * slider] == Approx(-1.8));
  CHECK(m->jnt_range[2 * slider + 1] == Approx(1.8));
  const int pole = phys(*env).body("pole");
  CHECK(m->body_mass[pole] == Approx(0.1));
  CHECK(m->body_mass[phys(*env).body("cart")] == Approx(1.0));
  // the pole's centre of mass is 0.5 above the hinge (the body origin) when upright
  CHECK(m->body_ipos[3 * pole + 2] == Approx(0.5));
  CHECK(m->actuator_gear[0] == Approx(10.0));
  CHECK(m->actuator_ctrlrange[0] == Approx(-1.0));
  CHECK(m->actuator_ctrlrange[1] == Approx(1.0));
}

TEST_CASE("cartpole reward is about 1 upright and centred at rest and 0 hanging down",
          "[rl][env][cartpole]") {
  auto env = make_cartpole_swingup(2);
  place(*env, 0.0, 0.0);
  // an exact equilibrium: one step with no force keeps it there
  CHECK(step_with(*env, 0.0f) == Approx(1.0).margin(1e-6));
  CHECK(env->observation()[1] == Approx(1.0).margin(1e-9));  // cos
  CHECK(env->observation()[2] == Approx(0.0).margin(1e-9));  // sin

  place(*env, 0.0, kPi);
  CHECK(step_with(*env, 0.0f) == Approx(0.0).margin(1e-6));
  CHECK(env->observation()[1] == Approx(-1.0).margin(1e-9));
}

TEST_CASE("cartpole reward terms follow the suite's formula", "[rl][env][cartpole]") {
  auto env = make_cartpole_swingup(3);
  // full force: small_control = (4 + 0) / 5 while the pole barely moves in 0.01 s
  place(*env, 0.0, 0.0);
  CHECK(step_with(*env, 1.0f) == Approx(0.8).margin(2e-3));
  // half force: small_control = (4 + 1 - 0.5^2) / 5 = 0.95
  place(*env, 0.0, 0.0);
  CHECK(step_with(*env, -0.5f) == Approx(0.95).margin(2e-3));
  // cart at the end of the rail, 1.8 from the centre (d = 1.8 / margin 2 = 0.9):
  // centered = (1 + 0.1^(0.9^2)) / 2
  place(*env, 1.8, 0.0);
  CHECK(step_with(*env, 0.0f) == Approx((1.0 + std::pow(0.1, 0.81)) / 2.0).margin(1e-3));
  // angular velocity of 5 (the margin): small_velocity = (1 + 0.1) / 2 = 0.55; upright moves
  // a little (0.05 rad in a step): (cos(0.05) + 1) / 2
  place(*env, 0.0, 0.0, 0.0, 5.0);
  const double r = step_with(*env, 0.0f);
  const double theta = std::atan2(env->observation()[2], env->observation()[1]);
  const double omega = env->observation()[4];
  const double expected = (std::cos(theta) + 1.0) / 2.0 *
                          (1.0 + std::exp(std::log(0.1) * (omega / 5.0) * (omega / 5.0))) / 2.0;
  CHECK(theta == Approx(0.05).margin(5e-3));
  CHECK(r == Approx(expected).margin(1e-3));  // the cart recoils a little: centered < 1
  CHECK(r == Approx(0.55).margin(5e-3));
  // a horizontal pole: upright = 1/2
  place(*env, 0.0, kPi / 2);
  CHECK(step_with(*env, 0.0f) == Approx(0.5).margin(5e-3));
}

TEST_CASE("cartpole observation is cart x then cos and sin then both velocities",
          "[rl][env][cartpole]") {
  auto env = make_cartpole_swingup(4);
  place(*env, 0.3, 0.7, -0.2, 1.5);
  step_with(*env, 0.0f);
  const mjData* d = phys(*env).data();
  const auto& o = env->observation();
  REQUIRE(o.size() == 5);
  CHECK(o[0] == d->qpos[0]);
  CHECK(o[1] == Approx(std::cos(d->qpos[1])).margin(1e-9));
  CHECK(o[2] == Approx(std::sin(d->qpos[1])).margin(1e-9));
  CHECK(o[3] == d->qvel[0]);
  CHECK(o[4] == d->qvel[1]);
  CHECK(o[0] != Approx(0.3).margin(1e-4));  // it moved: the observation is after the step
}

TEST_CASE("cartpole swing-up reset hangs the pole near pi with small random noise",
          "[rl][env][cartpole]") {
  auto env = make_cartpole_swingup(5);
  const mjData* d = phys(*env).data();
  const int n = 400;
  double sum_dtheta = 0, sum_sq = 0, sum_x_sq = 0, sum_v_sq = 0;
  for (int e = 0; e < n; ++e) {
    env->reset();
    const double dtheta = d->qpos[1] - kPi;
    CHECK(std::abs(dtheta) < 0.06);
    CHECK(std::abs(d->qpos[0]) < 0.06);
    CHECK(std::abs(d->qvel[0]) < 0.06);
    CHECK(std::abs(d->qvel[1]) < 0.06);
    CHECK(env->observation()[1] < -0.998);
    sum_dtheta += dtheta;
    sum_sq += dtheta * dtheta;
    sum_x_sq += d->qpos[0] * d->qpos[0];
    sum_v_sq += d->qvel[1] * d->qvel[1];
  }
  // standard deviations 0.01 (sample estimates over 400 draws: within 15 %)
  CHECK(std::abs(sum_dtheta / n) < 0.002);
  CHECK(std::sqrt(sum_sq / n) == Approx(0.01).epsilon(0.15));
  CHECK(std::sqrt(sum_x_sq / n) == Approx(0.01).epsilon(0.15));
  CHECK(std::sqrt(sum_v_sq / n) == Approx(0.01).epsilon(0.15));
}

TEST_CASE("cartpole action pushes the cart with gear times action", "[rl][env][cartpole]") {
  auto env = make_cartpole_swingup(6);
  const mjModel* m = phys(*env).model();
  mjData* d = phys(*env).data();
  for (float a : {0.5f, -1.0f, 3.0f /* clamped to 1 */}) {
    INFO("action " << a);
    place(*env, 0.0, 0.0);
    step_with(*env, a);
    CHECK(d->ctrl[0] == Approx(std::min(1.0f, a)));
    // no contacts and no other horizontal force (the slider's damping of 5e-4 aside): the
    // system's momentum after one step is 10 * action * 0.01
    mj_subtreeVel(m, d);
    const double total_mass = m->body_subtreemass[phys(*env).body("cart")];
    const double momentum = total_mass * d->subtree_linvel[3 * phys(*env).body("cart")];
    CHECK(momentum == Approx(10.0 * std::min(1.0f, a) * 0.01).epsilon(1e-3));
  }
}

TEST_CASE("cartpole rail stops the cart near 1.8", "[rl][env][cartpole]") {
  auto env = make_cartpole_swingup(7);
  env->reset();
  double max_x = 0;
  while (!env->last()) {
    step_with(*env, 1.0f);
    max_x = std::max(max_x, env->observation()[0]);
  }
  // the limit is soft (solreflimit 0.08 1): a full push holds the cart a little past 1.8
  CHECK(max_x > 1.8);
  CHECK(max_x < 2.0);
}
