// humanoid_run (docs/rl.md, "humanoid_run"): the suite's sizes, contact-free resets, the
// observation layout and r = small_control * standing * upright * move.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "pbtnas/tasks/rl/env.hpp"
#include "pbtnas/tasks/rl/envs.hpp"

using namespace pbtnas;
using namespace pbtnas::rl;

namespace {

// The physics of an environment, read-only.
const Physics& phys(const Env& env) { return env.physics(); }

// Observation layout: joint angles (21), head height, extremities (12: left hand, left foot,
// right hand, right foot), torso zx zy zz (3), centre-of-mass velocity (3), qvel (27).
constexpr int kHeadHeight = 21;
constexpr int kExtremities = 22;
constexpr int kTorsoVertical = 34;
constexpr int kComVelocity = 37;
constexpr int kQvel = 40;

// The model's initial pose (upright, torso at 1.5, all joints at 0 and at their spring rest)
// with root linear velocity (vx, vy) and orientation `quat`.
void place(Env& env, double vx, double vy, const double quat[4]) {
  const mjModel* m = phys(env).model();
  mjData* d = phys(env).data();
  mj_resetData(m, d);
  for (int k = 0; k < 4; ++k) d->qpos[3 + k] = quat[k];
  d->qvel[0] = vx;
  d->qvel[1] = vy;
  mj_forward(m, d);
}

const double kIdentity[4] = {1, 0, 0, 0};

}  // namespace

TEST_CASE("humanoid_run has the suite's model sizes and motors", "[rl][env][humanoid]") {
  auto env = make_humanoid_run(1);
  const mjModel* m = phys(*env).model();
  CHECK(m->nq == 28);
  CHECK(m->nv == 27);
  CHECK(m->nu == 21);
  CHECK(m->na == 0);
  CHECK(m->opt.timestep == Approx(0.005));
  CHECK(env->control_timestep() == Approx(0.025));
  CHECK(env->obs_dim() == 67);
  CHECK(env->action_dim() == 21);
  double gear_sum = 0;
  for (int i = 0; i < m->nu; ++i) {
    CHECK(m->actuator_ctrlrange[2 * i] == -1.0);
    CHECK(m->actuator_ctrlrange[2 * i + 1] == 1.0);
    gear_sum += m->actuator_gear[6 * i];
  }
  // 3 x 40 (abdomen) + 2 x (40 + 40 + 120 + 80 + 20 + 20) (legs) + 2 x (20 + 20 + 40) (arms)
  CHECK(gear_sum == Approx(120 + 2 * 320 + 2 * 80));
}

TEST_CASE("humanoid_run resets are contact-free with the root at its initial position", "[rl][env][humanoid]") {
  for (std::uint64_t seed : {1u, 2u, 3u, 4u, 5u, 6u}) {
    INFO("seed " << seed);
    auto env = make_humanoid_run(seed);
    for (int episode = 0; episode < 3; ++episode) {
      env->reset();
      const mjModel* m = phys(*env).model();
      const mjData* d = phys(*env).data();
      CHECK(d->ncon == 0);
      CHECK(d->qpos[0] == 0.0);
      CHECK(d->qpos[1] == 0.0);
      CHECK(d->qpos[2] == Approx(1.5));
      // the randomiser's quaternion: uniform [0, 1) draws normalised, so no negative entry
      double norm = 0;
      for (int k = 3; k < 7; ++k) {
        CHECK(d->qpos[k] >= 0.0);
        norm += d->qpos[k] * d->qpos[k];
      }
      CHECK(norm == Approx(1.0));
      for (int j = 1; j < m->njnt; ++j) {  // every hinge inside its range
        const double q = d->qpos[m->jnt_qposadr[j]];
        CHECK(q >= m->jnt_range[2 * j]);
        CHECK(q <= m->jnt_range[2 * j + 1]);
      }
      for (int i = 0; i < m->nv; ++i) CHECK(d->qvel[i] == 0.0);
    }
  }
}

TEST_CASE("humanoid_run rewards standing still upright with zero control with 1/6", "[rl][env][humanoid]") {
  auto env = make_humanoid_run(2);
  env->reset();
  std::vector<float> zero(21, 0.0f);
  // initial pose: head at 1.5 + 0.19 >= 1.4 (standing 1), torso zz = 1 (upright 1), zero
  // control (small_control (4 + 1) / 5 = 1); in free fall the centre of mass has no horizontal
  // speed, so move = (5 * 0 + 1) / 6.
  place(*env, 0.0, 0.0, kIdentity);
  double r = env->step(zero.data());
  CHECK(r == Approx(1.0 / 6.0).epsilon(1e-9));
  const auto& obs = env->observation();
  CHECK(obs[kHeadHeight] > 1.65);
  CHECK(obs[kHeadHeight] < 1.69);
  CHECK(obs[kTorsoVertical + 2] == Approx(1.0).margin(1e-12));
  // every control at +-1: each 1 - u^2 = 0, small_control = 4/5
  std::vector<float> full(21, 1.0f);
  for (std::size_t i = 0; i < full.size(); i += 2) full[i] = -1.0f;
  place(*env, 0.0, 0.0, kIdentity);
  r = env->step(full.data());
  // the torques move the limbs (and, through the joints' armature, the centre of mass a little):
  // the other factors come from the observation
  const auto& o = env->observation();
  CHECK(o[kHeadHeight] >= 1.4);
  CHECK(o[kTorsoVertical + 2] >= 0.9);
  const double speed = std::hypot(o[kComVelocity], o[kComVelocity + 1]);
  REQUIRE(speed < 10.0);
  CHECK(r == Approx(0.8 * (5.0 * speed / 10.0 + 1.0) / 6.0).epsilon(1e-9));
}

TEST_CASE("humanoid_run rewards horizontal centre-of-mass speed up to 10 m/s", "[rl][env][humanoid]") {
  auto env = make_humanoid_run(3);
  env->reset();
  std::vector<float> zero(21, 0.0f);
  // |v_xy| = 5 (3, 4): move = (5 * 0.5 + 1) / 6, whatever the heading
  place(*env, 3.0, 4.0, kIdentity);
  double r = env->step(zero.data());
  CHECK(env->observation()[kComVelocity] == Approx(3.0).margin(1e-6));
  CHECK(env->observation()[kComVelocity + 1] == Approx(4.0).margin(1e-6));
  CHECK(env->observation()[kQvel] == Approx(3.0).margin(1e-6));
  CHECK(r == Approx(3.5 / 6.0).epsilon(1e-6));
  // 12 m/s saturates move at 1
  place(*env, -12.0, 0.0, kIdentity);
  CHECK(env->step(zero.data()) == Approx(1.0).epsilon(1e-6));
}

TEST_CASE("humanoid_run penalises a low head and a tilted torso", "[rl][env][humanoid]") {
  auto env = make_humanoid_run(4);
  env->reset();
  std::vector<float> zero(21, 0.0f);
  // lying on its back (90 degrees about y), 0.5 up: torso zz = 0, upright = 1 - 0.9 / 1.9;
  // head at ~0.5 < 1.4 - 0.35, so standing < 0.1 (gaussian, 0.1 one margin below 1.4)
  const double s = std::sqrt(0.5);
  const double on_back[4] = {s, 0, s, 0};
  place(*env, 0.0, 0.0, on_back);
  mjData* d = phys(*env).data();
  d->qpos[2] = 0.5;
  mj_forward(phys(*env).model(), d);
  const double r = env->step(zero.data());
  const double head = env->observation()[kHeadHeight];
  const double zz = env->observation()[kTorsoVertical + 2];
  CHECK(head < 0.6);
  CHECK(std::abs(zz) < 0.01);
  const double standing = tolerance(head, 1.4, std::numeric_limits<double>::infinity(), 0.35, Sigmoid::Gaussian, 0.1);
  const double upright = 1.0 - (0.9 - zz) / 1.9;
  CHECK(standing < 0.1);
  CHECK(r == Approx(standing * upright * (1.0 / 6.0)).epsilon(1e-6));
}

TEST_CASE("humanoid_run observes the extremities in the torso's frame", "[rl][env][humanoid]") {
  auto env = make_humanoid_run(5);
  env->reset();
  // turned 90 degrees about z: the torso frame's x is world y; positions relative to the
  // torso in its own frame do not change with the heading.
  std::vector<double> facing_x, facing_y;
  std::vector<float> zero(21, 0.0f);
  place(*env, 0.0, 0.0, kIdentity);
  env->step(zero.data());
  facing_x.assign(env->observation().begin() + kExtremities, env->observation().begin() + kExtremities + 12);
  const double s = std::sqrt(0.5);
  const double turned[4] = {s, 0, 0, s};
  place(*env, 0.0, 0.0, turned);
  env->step(zero.data());
  facing_y.assign(env->observation().begin() + kExtremities, env->observation().begin() + kExtremities + 12);
  for (int k = 0; k < 12; ++k) CHECK(facing_y[k] == Approx(facing_x[k]).margin(1e-9));
  // left hand on the left (+y in the torso frame), right hand on the right, feet below
  CHECK(facing_x[1] > 0.1);
  CHECK(facing_x[7] < -0.1);
  CHECK(facing_x[5] < -1.0);
  CHECK(facing_x[11] < -1.0);
}
