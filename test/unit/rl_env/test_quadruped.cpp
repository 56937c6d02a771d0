// quadruped_run (docs/rl.md, "quadruped_run"): the suite's sizes, contact-free resets and the
// reward r = (1 + torso zz) / 2 * tolerance(local forward speed, (5, inf), margin 5, linear, 0.5).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "pbtnas/tasks/rl/env.hpp"
#include "pbtnas/tasks/rl/envs.hpp"

using namespace pbtnas;
using namespace pbtnas::rl;

namespace {

// The physics of an environment, read-only.
const Physics& phys(const Env& env) { return env.physics(); }

// Observation layout: 16 hinge angles, 16 hinge speeds, 12 activations, velocimeter (3), zz,
// accelerometer (3), gyro (3), asinh of 4 toe forces and 4 toe torques (24).
constexpr int kVelocimeter = 44;
constexpr int kUpright = 47;
constexpr int kAccelerometer = 48;
constexpr int kToeForces = 54;

// Puts the torso at the origin, `height` up, with orientation `quat` and root linear velocity
// `vx` along world x; joints at 0, at rest, activations 0.
void place(Env& env, const double quat[4], double height, double vx) {
  const mjModel* m = phys(env).model();
  mjData* d = phys(env).data();
  mj_resetData(m, d);
  d->qpos[2] = height;
  for (int k = 0; k < 4; ++k) d->qpos[3 + k] = quat[k];
  d->qvel[0] = vx;
  mj_forward(m, d);
}

// The action that maps onto ctrl = 0 for every actuator (ctrl ranges are not all symmetric).
std::vector<float> zero_ctrl_action(const Env& env) {
  const mjModel* m = phys(env).model();
  std::vector<float> a(static_cast<std::size_t>(m->nu));
  for (int i = 0; i < m->nu; ++i) {
    const double lo = m->actuator_ctrlrange[2 * i], hi = m->actuator_ctrlrange[2 * i + 1];
    a[static_cast<std::size_t>(i)] = static_cast<float>(2.0 * (0.0 - lo) / (hi - lo) - 1.0);
  }
  return a;
}

const double kIdentity[4] = {1, 0, 0, 0};

}  // namespace

TEST_CASE("quadruped_run has the suite's model sizes and filter-state actuators", "[rl][env][quadruped]") {
  auto env = make_quadruped_run(1);
  const mjModel* m = phys(*env).model();
  CHECK(m->nq == 23);
  CHECK(m->nv == 22);
  CHECK(m->nu == 12);
  CHECK(m->na == 12);  // every actuator has filter dynamics: act is state, observed
  CHECK(m->opt.timestep == Approx(0.005));
  CHECK(env->control_timestep() == Approx(0.02));
  CHECK(env->obs_dim() == 78);
  CHECK(env->action_dim() == 12);
  int hinges = 0;
  for (int j = 0; j < m->njnt; ++j) hinges += m->jnt_type[j] == mjJNT_HINGE;
  CHECK(hinges == 16);
  // ctrl ranges per leg: yaw [-1, 1], lift [-1, 1.1], extend [-0.8, 0.8]
  const double ranges[3][2] = {{-1, 1}, {-1, 1.1}, {-0.8, 0.8}};
  for (int i = 0; i < m->nu; ++i) {
    INFO("actuator " << i);
    CHECK(m->actuator_ctrlrange[2 * i] == Approx(ranges[i % 3][0]));
    CHECK(m->actuator_ctrlrange[2 * i + 1] == Approx(ranges[i % 3][1]));
    CHECK(m->actuator_dyntype[i] == mjDYN_FILTER);
    CHECK(m->actuator_dynprm[i * mjNDYN] == Approx(0.1));
    CHECK(m->actuator_gainprm[i * mjNGAIN] == Approx(1000));
    CHECK(m->actuator_biasprm[i * mjNBIAS + 1] == Approx(-1000));
  }
}

TEST_CASE("quadruped_run resets are contact-free and just above the floor", "[rl][env][quadruped]") {
  for (std::uint64_t seed : {1u, 2u, 3u, 4u, 5u, 6u}) {
    INFO("seed " << seed);
    auto env = make_quadruped_run(seed);
    for (int episode = 0; episode < 3; ++episode) {
      env->reset();
      const mjData* d = phys(*env).data();
      CHECK(d->ncon == 0);
      // the lowest contact-free height on a 1 cm grid: 1 cm lower touches the floor
      CHECK(d->qpos[2] >= 0.0);
      CHECK(d->qpos[2] < 1.5);  // toes at most ~1.1 from the torso's centre
      double norm = 0;
      for (int k = 3; k < 7; ++k) norm += d->qpos[k] * d->qpos[k];
      CHECK(norm == Approx(1.0));
      for (int i = 7; i < 23; ++i) CHECK(d->qpos[i] == 0.0);
    }
  }
}

TEST_CASE("quadruped_run resets from a 1 cm lower height would touch the floor", "[rl][env][quadruped]") {
  auto env = make_quadruped_run(9);
  env->reset();
  mjModel* m = phys(*env).model();
  mjData* d = phys(*env).data();
  REQUIRE(d->qpos[2] >= 0.01);  // the legs reach below the torso: never contact-free at z = 0
  d->qpos[2] -= 0.01;
  mj_forward(m, d);
  CHECK(d->ncon > 0);
}

TEST_CASE("quadruped_run rewards upright at rest with 0.5 and upside down with 0", "[rl][env][quadruped]") {
  auto env = make_quadruped_run(2);
  env->reset();
  const auto a = zero_ctrl_action(*env);
  // upright, in the air, at rest, servos at 0: it falls straight down for one control step, so the
  // local forward speed stays 0: upright = 1 and move = 1 - (5 - 0) / 5 * (1 - 0.5) = 0.5.
  place(*env, kIdentity, 1.0, 0.0);
  double r = env->step(a.data());
  CHECK(r == Approx(0.5).margin(1e-9));
  CHECK(env->observation()[kUpright] == Approx(1.0).margin(1e-12));
  CHECK(env->observation()[kVelocimeter] == Approx(0.0).margin(1e-9));
  // free fall: the accelerometer reads ~0; no toe touches anything: forces and torques 0
  for (int k = 0; k < 3; ++k) CHECK(env->observation()[kAccelerometer + k] == Approx(0.0).margin(1e-6));
  for (int k = 0; k < 24; ++k) CHECK(env->observation()[kToeForces + k] == Approx(0.0).margin(1e-6));
  // upside down (180 degrees about x): zz = -1, upright = 0
  const double flipped[4] = {0, 1, 0, 0};
  place(*env, flipped, 2.0, 0.0);
  r = env->step(a.data());
  CHECK(env->observation()[kUpright] == Approx(-1.0).margin(1e-12));
  CHECK(r == Approx(0.0).margin(1e-9));
}

TEST_CASE("quadruped_run rewards forward speed in the torso's frame", "[rl][env][quadruped]") {
  auto env = make_quadruped_run(3);
  env->reset();
  const auto a = zero_ctrl_action(*env);
  // 3 m/s along world x, facing +x: move = 1 - (5 - 3) / 5 * 0.5 = 0.8
  place(*env, kIdentity, 2.0, 3.0);
  double r = env->step(a.data());
  CHECK(env->observation()[kVelocimeter] == Approx(3.0).margin(1e-9));
  CHECK(r == Approx(0.8).margin(1e-9));
  // the same world velocity facing -x (180 degrees about z): local speed -3, move = 1 - 8/5 * 0.5
  const double turned[4] = {0, 0, 0, 1};
  place(*env, turned, 2.0, 3.0);
  r = env->step(a.data());
  CHECK(env->observation()[kVelocimeter] == Approx(-3.0).margin(1e-9));
  CHECK(r == Approx(0.2).margin(1e-9));
  // at 6 m/s the move term saturates at 1
  place(*env, kIdentity, 2.0, 6.0);
  CHECK(env->step(a.data()) == Approx(1.0).margin(1e-9));
}

TEST_CASE("quadruped_run observes the actuator activations as filtered controls", "[rl][env][quadruped]") {
  auto env = make_quadruped_run(4);
  env->reset();
  place(*env, kIdentity, 2.0, 0.0);
  std::vector<float> a(12, 1.0f);  // every ctrl at its maximum
  env->step(a.data());
  const mjModel* m = phys(*env).model();
  // act' = (ctrl - act) / 0.1 integrated by Euler over 4 steps of 0.005 s from 0:
  // act = ctrl (1 - (1 - 0.05)^4)
  const double fraction = 1.0 - std::pow(1.0 - 0.005 / 0.1, 4);
  for (int i = 0; i < 12; ++i) {
    INFO("actuator " << i);
    CHECK(env->observation()[32 + i] == Approx(m->actuator_ctrlrange[2 * i + 1] * fraction).epsilon(1e-9));
  }
}
