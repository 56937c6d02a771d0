// walker_run: the DeepMind Control Suite's Walker Run (Tassa et al. 2018) with our own MJCF model
// and task code (docs/rl.md, "walker_run").
#include <limits>
#include <memory>
#include <stdexcept>

#include "pbtnas/tasks/rl/envs.hpp"

namespace pbtnas::rl {
namespace {

// Physical facts of the suite's planar walker (dm_control's walker.xml), written here by us:
//  * option: timestep 0.0025 (Euler, the default), default gravity; the task acts every
//    0.025 s (10 physics steps per action);
//  * joints by default: limited, damping 0.1, armature 0.01, solimplimit (0 0.99 0.01); the
//    leg joints turn about -y (positive hip angle swings the leg forward);
//  * geoms by default: capsules of density 1000 (masses from the shapes), friction (0.7 0.1 0.1),
//    contype 1 and conaffinity 0, so the body parts collide with the floor (conaffinity 1) but
//    never with each other;
//  * torso: capsule radius 0.07, half-length 0.3, body at height 1.3; root joints rootz (slide z),
//    rootx (slide x), rooty (hinge y), all unlimited with no damping or armature;
//  * per leg (right at y = -0.05, left at y = +0.05, 0.3 below the torso centre):
//    thigh capsule radius 0.05, half-length 0.225, hip range [-20, 100] degrees;
//    leg (shin) body 0.7 below the hip, capsule radius 0.04, half-length 0.25, knee 0.25 above
//    the leg body's origin with range [-150, 0] degrees;
//    foot body 0.25 below and 0.06 ahead of the leg body's origin, a capsule along x of radius
//    0.05 and half-length 0.1, ankle 0.06 behind the foot body's origin, range [-45, 45] degrees;
//  * motors: hips gear 100, knees gear 50, ankles gear 20, ctrlrange [-1, 1], in the order
//    right hip, right knee, right ankle, left hip, left knee, left ankle;
//  * sensor: the linear velocity of the torso's subtree (centre of mass), for the reward;
//  * floor: a plane at z = 0 (a plane collides over its whole extent; size only draws it).
// Visual-only elements (lights, cameras, materials, skybox) are omitted.
constexpr const char* kModel = R"MJCF(
<mujoco model="pbtnas_planar_walker">
  <compiler angle="degree"/>
  <option timestep="0.0025"/>
  <statistic extent="2" center="0 0 1"/>
  <default>
    <joint limited="true" damping="0.1" armature="0.01" solimplimit="0 0.99 0.01"/>
    <geom contype="1" conaffinity="0" friction="0.7 0.1 0.1"/>
    <motor ctrllimited="true" ctrlrange="-1 1"/>
    <default class="limb">
      <joint type="hinge" axis="0 -1 0"/>
      <geom type="capsule" material="self"/>
    </default>
  </default>
  <worldbody>
    <geom name="floor" type="plane" pos="248 0 0" size="250 0.8 0.2" conaffinity="1" material="grid"/>
    <body name="torso" pos="0 0 1.3" childclass="limb">
      <light name="light" pos="0 0 2" mode="trackcom"/>
      <camera name="side" pos="0 -2 0.7" euler="60 0 0" mode="trackcom"/>
      <camera name="back" pos="-2 0 0.5" xyaxes="0 -1 0 1 0 3" mode="trackcom"/>
      <joint name="rootz" type="slide" axis="0 0 1" limited="false" damping="0" armature="0"/>
      <joint name="rootx" type="slide" axis="1 0 0" limited="false" damping="0" armature="0"/>
      <joint name="rooty" type="hinge" axis="0 1 0" limited="false" damping="0" armature="0"/>
      <geom name="torso" size="0.07 0.3"/>
      <body name="right_thigh" pos="0 -0.05 -0.3">
        <joint name="right_hip" range="-20 100"/>
        <geom name="right_thigh" pos="0 0 -0.225" size="0.05 0.225"/>
        <body name="right_leg" pos="0 0 -0.7">
          <joint name="right_knee" pos="0 0 0.25" range="-150 0"/>
          <geom name="right_leg" size="0.04 0.25"/>
          <body name="right_foot" pos="0.06 0 -0.25">
            <joint name="right_ankle" pos="-0.06 0 0" range="-45 45"/>
            <geom name="right_foot" zaxis="1 0 0" size="0.05 0.1"/>
          </body>
        </body>
      </body>
      <body name="left_thigh" pos="0 0.05 -0.3">
        <joint name="left_hip" range="-20 100"/>
        <geom name="left_thigh" pos="0 0 -0.225" size="0.05 0.225"/>
        <body name="left_leg" pos="0 0 -0.7">
          <joint name="left_knee" pos="0 0 0.25" range="-150 0"/>
          <geom name="left_leg" size="0.04 0.25"/>
          <body name="left_foot" pos="0.06 0 -0.25">
            <joint name="left_ankle" pos="-0.06 0 0" range="-45 45"/>
            <geom name="left_foot" zaxis="1 0 0" size="0.05 0.1"/>
          </body>
        </body>
      </body>
    </body>
  </worldbody>
  <sensor>
    <subtreelinvel name="torso_subtreelinvel" body="torso"/>
  </sensor>
  <actuator>
    <motor name="right_hip" joint="right_hip" gear="100"/>
    <motor name="right_knee" joint="right_knee" gear="50"/>
    <motor name="right_ankle" joint="right_ankle" gear="20"/>
    <motor name="left_hip" joint="left_hip" gear="100"/>
    <motor name="left_knee" joint="left_knee" gear="50"/>
    <motor name="left_ankle" joint="left_ankle" gear="20"/>
  </actuator>
</mujoco>
)MJCF";

// The suite's walker constants.
constexpr double kStandHeight = 1.2;
constexpr double kRunSpeed = 8.0;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kBodies = 7;  // torso, right thigh/leg/foot, left thigh/leg/foot (after the world)

class WalkerRun final : public Env {
 public:
  explicit WalkerRun(std::uint64_t seed)
      : Env("walker_run", kModel, /*control_timestep=*/0.025, seed) {
    const Physics& p = physics();
    const mjModel* m = p.model();
    if (m->nbody != kBodies + 1 || m->nq != 9 || m->nv != 9 || m->nu != 6)
      throw std::logic_error("walker_run: the model does not have 7 bodies, nq = nv = 9, nu = 6");
    torso_ = p.body("torso");
    com_velocity_ = p.sensor("torso_subtreelinvel");
    set_obs_dim(2 * kBodies + 1 + m->nv);
  }

 protected:
  // The suite's walker only randomises the joints: the hinges (rooty over [-pi, pi], the leg
  // joints over their ranges); the unlimited root slides stay at 0, so the torso starts at 1.3.
  void initialize_episode() override { randomize_limited_and_rotational_joints(physics(), rng()); }

  // orientations (xx and xz of the 7 bodies' xmat, 14), torso height (1), qvel (9).
  void observe(double* out) const override {
    const mjModel* m = physics().model();
    const mjData* d = physics().data();
    for (int b = 1; b <= kBodies; ++b) {
      *out++ = d->xmat[9 * b + 0];
      *out++ = d->xmat[9 * b + 2];
    }
    *out++ = d->xpos[3 * torso_ + 2];
    for (int i = 0; i < m->nv; ++i) *out++ = d->qvel[i];
  }

  double reward() const override {
    const mjData* d = physics().data();
    const double height = d->xpos[3 * torso_ + 2];
    const double torso_zz = d->xmat[9 * torso_ + 8];
    const double com_vx = physics().sensor_data(com_velocity_)[0];
    const double standing = tolerance(height, kStandHeight, kInf, kStandHeight / 2);
    const double upright = (1.0 + torso_zz) / 2.0;
    const double stand = (3.0 * standing + upright) / 4.0;
    const double move =
        tolerance(com_vx, kRunSpeed, kInf, kRunSpeed / 2, Sigmoid::Linear, 0.5);
    return stand * (5.0 * move + 1.0) / 6.0;
  }

 private:
  int torso_ = 0, com_velocity_ = 0;
};

}  // namespace

std::unique_ptr<Env> make_walker_run(std::uint64_t seed) { return std::make_unique<WalkerRun>(seed); }

}  // namespace pbtnas::rl
