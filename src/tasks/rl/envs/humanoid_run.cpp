// humanoid_run: the DeepMind Control Suite's Humanoid Run (Tassa et al. 2018) with our own MJCF
// model and task code (docs/rl.md, "humanoid_run").
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "pbtnas/tasks/rl/envs.hpp"

namespace pbtnas::rl {
namespace {

// Physical facts of the suite's humanoid (dm_control's humanoid.xml), written here by us:
//  * option: timestep 0.005 (Euler, the default), default gravity; the task acts every 0.025 s
//    (5 physics steps per action);
//  * body geoms: capsules of density 1000 (the default), condim 1, friction 0.7, solimp
//    (0.9 0.99 0.003), solref (0.015 1); the floor is a default plane (condim 3, friction 1);
//  * hinges by default: limited, damping 0.2, stiffness 1 (spring to the initial pose),
//    armature 0.01, solimplimit (0 0.99 0.01); "big" joints damping 5 and stiffness 10, "big
//    stiff" joints stiffness 20; elbows stiffness 0; ankles stiffness 6 (y) and 3 (x);
//  * torso at height 1.5 with a free joint; capsule radius 0.07 along y from -0.07 to 0.07,
//    upper waist capsule radius 0.06 from (-0.01, ±0.06, -0.12); head sphere radius 0.09 at
//    (0, 0, 0.19);
//  * lower waist at (-0.01, 0, -0.26), tilted by quat (1, 0, -0.002, 0), capsule radius 0.06 along
//    y (±0.06); abdomen_z (z, [-45, 45], big stiff) and abdomen_y (y, [-75, 30], big) at
//    (0, 0, 0.065); pelvis at (0, 0, -0.165) with the same tilt, abdomen_x (x, [-35, 35], big)
//    at (0, 0, 0.1), butt capsule radius 0.09 from (-0.02, ±0.07, 0);
//  * legs (right at y = -0.1, left at +0.1; 0.04 below the pelvis): hip_x ([-25, 5], big; axis
//    x right, -x left), hip_z ([-60, 35], big; axis z right, -z left), hip_y (y; [-110, 20] right,
//    [-120, 20] left; big stiff); thigh capsule radius 0.06 to (0, ±0.01, -0.34); shin body at
//    (0, ±0.01, -0.403), knee (axis -y, [-160, 2]) at (0, 0, 0.02), capsule radius 0.049 to
//    (0, 0, -0.3); foot body at (0, 0, -0.39), ankle_y (y, [-50, 50]) at (0, 0, 0.08) and
//    ankle_x (axis (1, 0, 0.5), [-50, 50]) at (0, 0, 0.04); two toe capsules radius 0.027 from
//    (-0.07, ∓0.02 / 0, 0) to (0.14, ∓0.04 / ∓0.02, 0) (mirrored for the left foot);
//  * arms at (0, ∓0.17, 0.06): shoulder1 (axis (2, ±1, 1)) and shoulder2 (axis (0, ∓1, 1)), ranges
//    [-85, 60] right and [-60, 85] left; upper arm capsule radius 0.04 to (0.16, ∓0.16, -0.16);
//    lower arm at (0.18, ∓0.18, -0.18), elbow (axis (0, -1, ±1), [-90, 50]), capsule radius
//    0.031 from (0.01, ±0.01, 0.01) to (0.17, ±0.17, 0.17); hand sphere radius 0.04 at
//    (0.18, ±0.18, 0.18) (upper sign right, lower sign left);
//  * 21 motors, ctrlrange [-1, 1], gears: abdomen y/z/x 40; per leg (right then left) hip x 40,
//    hip z 40, hip y 120, knee 80, ankle x 20, ankle y 20; shoulders 20, elbows 40 (right arm then
//    left arm);
//  * sensor: the linear velocity of the torso's subtree (centre of mass), for observation and
//    reward.
// Omitted as unobserved or visual only: lights, cameras, materials, touch and force-torque sites
// and their sensors, the torso's accelerometer, velocimeter and gyro.
constexpr const char* kModel = R"MJCF(
<mujoco model="pbtnas_humanoid">
  <compiler angle="degree"/>
  <option timestep="0.005"/>
  <default>
    <motor ctrllimited="true" ctrlrange="-1 1"/>
    <default class="person">
      <geom type="capsule" condim="1" friction="0.7" solimp="0.9 0.99 0.003" solref="0.015 1" material="self"/>
      <joint type="hinge" limited="true" damping="0.2" stiffness="1" armature="0.01" solimplimit="0 0.99 0.01"/>
      <default class="big">
        <joint damping="5" stiffness="10"/>
        <default class="big_stiff"><joint stiffness="20"/></default>
      </default>
    </default>
  </default>

  <worldbody>
    <geom name="floor" type="plane" size="100 100 0.2" material="grid"/>
    <body name="torso" pos="0 0 1.5" childclass="person">
      <light name="top" pos="0 0 2" mode="trackcom"/>
      <camera name="back" pos="-3 0 1" xyaxes="0 -1 0 1 0 2" mode="trackcom"/>
      <camera name="side" pos="0 -3 1" xyaxes="1 0 0 0 1 2" mode="trackcom"/>
      <freejoint name="root"/>
      <geom name="torso" fromto="0 -0.07 0 0 0.07 0" size="0.07"/>
      <geom name="upper_waist" fromto="-0.01 -0.06 -0.12 -0.01 0.06 -0.12" size="0.06"/>
      <body name="head" pos="0 0 0.19">
        <geom name="head" type="sphere" size="0.09"/>
      </body>
      <body name="lower_waist" pos="-0.01 0 -0.26" quat="1 0 -0.002 0">
        <geom name="lower_waist" fromto="0 -0.06 0 0 0.06 0" size="0.06"/>
        <joint name="abdomen_z" class="big_stiff" pos="0 0 0.065" axis="0 0 1" range="-45 45"/>
        <joint name="abdomen_y" class="big" pos="0 0 0.065" axis="0 1 0" range="-75 30"/>
        <body name="pelvis" pos="0 0 -0.165" quat="1 0 -0.002 0">
          <joint name="abdomen_x" class="big" pos="0 0 0.1" axis="1 0 0" range="-35 35"/>
          <geom name="butt" fromto="-0.02 -0.07 0 -0.02 0.07 0" size="0.09"/>

          <body name="right_thigh" pos="0 -0.1 -0.04">
            <joint name="right_hip_x" class="big" axis="1 0 0" range="-25 5"/>
            <joint name="right_hip_z" class="big" axis="0 0 1" range="-60 35"/>
            <joint name="right_hip_y" class="big_stiff" axis="0 1 0" range="-110 20"/>
            <geom name="right_thigh" fromto="0 0 0 0 0.01 -0.34" size="0.06"/>
            <body name="right_shin" pos="0 0.01 -0.403">
              <joint name="right_knee" pos="0 0 0.02" axis="0 -1 0" range="-160 2"/>
              <geom name="right_shin" fromto="0 0 0 0 0 -0.3" size="0.049"/>
              <body name="right_foot" pos="0 0 -0.39">
                <joint name="right_ankle_y" pos="0 0 0.08" axis="0 1 0" range="-50 50" stiffness="6"/>
                <joint name="right_ankle_x" pos="0 0 0.04" axis="1 0 0.5" range="-50 50" stiffness="3"/>
                <geom name="right_foot_outer" fromto="-0.07 -0.02 0 0.14 -0.04 0" size="0.027"/>
                <geom name="right_foot_inner" fromto="-0.07 0 0 0.14 0.02 0" size="0.027"/>
              </body>
            </body>
          </body>

          <body name="left_thigh" pos="0 0.1 -0.04">
            <joint name="left_hip_x" class="big" axis="-1 0 0" range="-25 5"/>
            <joint name="left_hip_z" class="big" axis="0 0 -1" range="-60 35"/>
            <joint name="left_hip_y" class="big_stiff" axis="0 1 0" range="-120 20"/>
            <geom name="left_thigh" fromto="0 0 0 0 -0.01 -0.34" size="0.06"/>
            <body name="left_shin" pos="0 -0.01 -0.403">
              <joint name="left_knee" pos="0 0 0.02" axis="0 -1 0" range="-160 2"/>
              <geom name="left_shin" fromto="0 0 0 0 0 -0.3" size="0.049"/>
              <body name="left_foot" pos="0 0 -0.39">
                <joint name="left_ankle_y" pos="0 0 0.08" axis="0 1 0" range="-50 50" stiffness="6"/>
                <joint name="left_ankle_x" pos="0 0 0.04" axis="1 0 0.5" range="-50 50" stiffness="3"/>
                <geom name="left_foot_outer" fromto="-0.07 0.02 0 0.14 0.04 0" size="0.027"/>
                <geom name="left_foot_inner" fromto="-0.07 0 0 0.14 -0.02 0" size="0.027"/>
              </body>
            </body>
          </body>
        </body>
      </body>

      <body name="right_upper_arm" pos="0 -0.17 0.06">
        <joint name="right_shoulder1" axis="2 1 1" range="-85 60"/>
        <joint name="right_shoulder2" axis="0 -1 1" range="-85 60"/>
        <geom name="right_upper_arm" fromto="0 0 0 0.16 -0.16 -0.16" size="0.04"/>
        <body name="right_lower_arm" pos="0.18 -0.18 -0.18">
          <joint name="right_elbow" axis="0 -1 1" range="-90 50" stiffness="0"/>
          <geom name="right_lower_arm" fromto="0.01 0.01 0.01 0.17 0.17 0.17" size="0.031"/>
          <body name="right_hand" pos="0.18 0.18 0.18">
            <geom name="right_hand" type="sphere" size="0.04"/>
          </body>
        </body>
      </body>

      <body name="left_upper_arm" pos="0 0.17 0.06">
        <joint name="left_shoulder1" axis="2 -1 1" range="-60 85"/>
        <joint name="left_shoulder2" axis="0 1 1" range="-60 85"/>
        <geom name="left_upper_arm" fromto="0 0 0 0.16 0.16 -0.16" size="0.04"/>
        <body name="left_lower_arm" pos="0.18 0.18 -0.18">
          <joint name="left_elbow" axis="0 -1 -1" range="-90 50" stiffness="0"/>
          <geom name="left_lower_arm" fromto="0.01 -0.01 0.01 0.17 -0.17 0.17" size="0.031"/>
          <body name="left_hand" pos="0.18 -0.18 0.18">
            <geom name="left_hand" type="sphere" size="0.04"/>
          </body>
        </body>
      </body>
    </body>
  </worldbody>

  <actuator>
    <motor name="abdomen_y" joint="abdomen_y" gear="40"/>
    <motor name="abdomen_z" joint="abdomen_z" gear="40"/>
    <motor name="abdomen_x" joint="abdomen_x" gear="40"/>
    <motor name="right_hip_x" joint="right_hip_x" gear="40"/>
    <motor name="right_hip_z" joint="right_hip_z" gear="40"/>
    <motor name="right_hip_y" joint="right_hip_y" gear="120"/>
    <motor name="right_knee" joint="right_knee" gear="80"/>
    <motor name="right_ankle_x" joint="right_ankle_x" gear="20"/>
    <motor name="right_ankle_y" joint="right_ankle_y" gear="20"/>
    <motor name="left_hip_x" joint="left_hip_x" gear="40"/>
    <motor name="left_hip_z" joint="left_hip_z" gear="40"/>
    <motor name="left_hip_y" joint="left_hip_y" gear="120"/>
    <motor name="left_knee" joint="left_knee" gear="80"/>
    <motor name="left_ankle_x" joint="left_ankle_x" gear="20"/>
    <motor name="left_ankle_y" joint="left_ankle_y" gear="20"/>
    <motor name="right_shoulder1" joint="right_shoulder1" gear="20"/>
    <motor name="right_shoulder2" joint="right_shoulder2" gear="20"/>
    <motor name="right_elbow" joint="right_elbow" gear="40"/>
    <motor name="left_shoulder1" joint="left_shoulder1" gear="20"/>
    <motor name="left_shoulder2" joint="left_shoulder2" gear="20"/>
    <motor name="left_elbow" joint="left_elbow" gear="40"/>
  </actuator>

  <sensor>
    <subtreelinvel name="torso_subtreelinvel" body="torso"/>
  </sensor>
</mujoco>
)MJCF";

constexpr double kControlTimestep = 0.025;
constexpr double kStandHeight = 1.4;  // head height above which standing = 1
constexpr double kRunSpeed = 10.0;    // horizontal centre-of-mass speed above which move = 1
// dm_control retries without bound; a model that never finds a contact-free pose is a bug.
constexpr int kMaxResetAttempts = 100000;

class HumanoidRun final : public Env {
 public:
  explicit HumanoidRun(std::uint64_t seed) : Env("humanoid_run", kModel, kControlTimestep, seed) {
    const mjModel* m = physics().model();
    if (m->nq != 28 || m->nv != 27 || m->nu != 21 || m->na != 0)
      throw std::logic_error("humanoid_run: model sizes differ from the suite's (nq 28, nv 27, nu 21)");
    torso_ = physics().body("torso");
    head_ = physics().body("head");
    // dm_control's order of the extremities.
    extremities_[0] = physics().body("left_hand");
    extremities_[1] = physics().body("left_foot");
    extremities_[2] = physics().body("right_hand");
    extremities_[3] = physics().body("right_foot");
    com_velocity_ = physics().sensor("torso_subtreelinvel");
    set_obs_dim((m->nq - 7) + 1 + 12 + 3 + 3 + m->nv);
  }

 protected:
  // Random joint angles and orientation (the root stays at (0, 0, 1.5)) until nothing touches.
  void initialize_episode() override {
    for (int attempt = 0; attempt < kMaxResetAttempts; ++attempt) {
      randomize_limited_and_rotational_joints(physics(), rng());
      physics().forward_without_actuation();
      if (physics().data()->ncon == 0) return;
    }
    throw std::runtime_error("humanoid_run: no contact-free starting pose found in " +
                             std::to_string(kMaxResetAttempts) + " attempts");
  }

  // joint angles qpos[7:], head height, hands and feet relative to the torso in the torso's
  // frame (left hand, left foot, right hand, right foot), torso zx zy zz, centre-of-mass
  // velocity, qvel.
  void observe(double* out) const override {
    const mjModel* m = physics().model();
    const mjData* d = physics().data();
    double* o = out;
    for (int i = 7; i < m->nq; ++i) *o++ = d->qpos[i];
    *o++ = d->xpos[3 * head_ + 2];
    const mjtNum* torso_pos = d->xpos + 3 * torso_;
    const mjtNum* R = d->xmat + 9 * torso_;  // row-major; columns are the torso's axes
    for (int body : extremities_) {
      const mjtNum* p = d->xpos + 3 * body;
      const double v[3] = {p[0] - torso_pos[0], p[1] - torso_pos[1], p[2] - torso_pos[2]};
      for (int k = 0; k < 3; ++k) *o++ = v[0] * R[k] + v[1] * R[3 + k] + v[2] * R[6 + k];
    }
    for (int k = 6; k < 9; ++k) *o++ = R[k];
    const mjtNum* com_v = physics().sensor_data(com_velocity_);
    for (int k = 0; k < 3; ++k) *o++ = com_v[k];
    for (int i = 0; i < m->nv; ++i) *o++ = d->qvel[i];
  }

  // small_control * standing * upright * move (dm_control's Humanoid with move_speed 10).
  double reward() const override {
    const mjModel* m = physics().model();
    const mjData* d = physics().data();
    constexpr double inf = std::numeric_limits<double>::infinity();
    const double standing =
        tolerance(d->xpos[3 * head_ + 2], kStandHeight, inf, kStandHeight / 4, Sigmoid::Gaussian, 0.1);
    const double upright = tolerance(d->xmat[9 * torso_ + 8], 0.9, inf, 1.9, Sigmoid::Linear, 0.0);
    double control = 0.0;
    for (int i = 0; i < m->nu; ++i) control += tolerance(d->ctrl[i], 0.0, 0.0, 1.0, Sigmoid::Quadratic, 0.0);
    const double small_control = (4.0 + control / m->nu) / 5.0;
    const mjtNum* com_v = physics().sensor_data(com_velocity_);
    const double speed = std::hypot(com_v[0], com_v[1]);
    const double move = (5.0 * tolerance(speed, kRunSpeed, inf, kRunSpeed, Sigmoid::Linear, 0.0) + 1.0) / 6.0;
    return small_control * standing * upright * move;
  }

 private:
  int torso_ = 0, head_ = 0;
  int extremities_[4] = {0, 0, 0, 0};
  int com_velocity_ = 0;
};

}  // namespace

std::unique_ptr<Env> make_humanoid_run(std::uint64_t seed) {
  return std::make_unique<HumanoidRun>(seed);
}

}  // namespace pbtnas::rl
