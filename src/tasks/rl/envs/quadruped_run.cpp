// quadruped_run: the DeepMind Control Suite's Quadruped Run (Tassa et al. 2018) with our own MJCF
// model and task code (docs/rl.md, "quadruped_run").
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "pbtnas/tasks/rl/envs.hpp"

namespace pbtnas::rl {
namespace {

// Physical facts of the suite's quadruped (dm_control's quadruped.xml, run variant), written here
// by us:
//  * option: timestep 0.005 (Euler, the default), default gravity; the task acts every 0.02 s
//    (4 physics steps per action);
//  * every geom: solimp (0.9 0.99 0.003), solref (0.01 1); the animal's geoms are capsules of
//    density 500 with condim 1 (frictionless normal contacts), except as noted;
//  * the animal's hinges: limited, damping 30, armature 0.01, solimplimit (0 0.99 0.01);
//  * torso: body at height 0.57 with a free joint (no damping or armature); an ellipsoid with
//    semi-axes (0.3, 0.27, 0.2) and density 1000; two massless cylinder "eyes" of radius 0.05
//    from (0.1, ±0.07, 0.12) to (0.31, ±0.07, 0.08), which do collide; a site "torso" at its
//    origin carries the IMU (accelerometer, gyro) and the velocimeter;
//  * four legs, hips at (±0.2, ±0.2, 0) turned about z by 45 (front left), -45 (front right),
//    -135 (back right) and 135 (back left) degrees; per leg, in the hip's frame:
//      hip: yaw hinge about z in [-50, 50] deg, pitch hinge about y in [-20, 60] deg, thigh
//        capsule radius 0.08 from the origin to (0.3, 0, 0.11);
//      knee body at (0.3, 0, 0.11): hinge about y in [-60, 50] deg, shin capsule radius 0.065 to
//        (0.25, 0, -0.25);
//      ankle body at (0.25, 0, -0.25) of the knee: hinge about y in [-45, 55] deg, foot capsule
//        radius 0.055 to (0, 0, -0.25);
//      toe body at (0, 0, -0.3) of the ankle: sphere radius 0.08 with sliding friction 1.5 and a
//        site (radius 0.084) carrying the toe's force and torque sensors;
//  * per leg three fixed tendons: coupling = 0.333 (pitch + knee + ankle), held at 0 by an
//    equality constraint with solimp (0.95 0.99 0.01) and solref (0.005 0.5); extend =
//    0.25 pitch - 0.5 knee + 0.25 ankle; lift = 0.5 pitch - 0.5 ankle;
//  * 12 actuators, per leg (front left, front right, back right, back left) yaw (on the yaw
//    hinge), lift and extend (on the tendons): affine position servos, force = 1000 act -
//    1000 length, with first-order filter dynamics of time constant 0.1 (act is state), ctrl
//    ranges yaw [-1, 1], lift [-1, 1.1], extend [-0.8, 0.8];
//  * sensors in the suite's order: accelerometer, gyro, velocimeter (torso site), the toes'
//    forces, the toes' torques (front left, front right, back right, back left);
//  * run variant: a floor plane of half-size 100 and nothing else (no walls, ball, target,
//    terrain or rangefinders).
// Visual-only elements (lights, cameras, materials, pupils, skybox) are omitted.
constexpr const char* kModel = R"MJCF(
<mujoco model="pbtnas_quadruped">
  <compiler angle="degree"/>
  <visual>
    <map znear="0.005" zfar="20"/>
  </visual>
  <option timestep="0.005"/>
  <default>
    <geom solimp="0.9 0.99 0.003" solref="0.01 1"/>
    <default class="animal">
      <geom type="capsule" size="0.08" condim="1" density="500" material="self"/>
      <joint type="hinge" limited="true" damping="30" armature="0.01" solimplimit="0 0.99 0.01"/>
      <default class="thigh">
        <geom fromto="0 0 0 0.3 0 0.11"/>
        <default class="hip_yaw"><joint axis="0 0 1" range="-50 50"/></default>
        <default class="hip_pitch"><joint axis="0 1 0" range="-20 60"/></default>
      </default>
      <default class="shin">
        <geom size="0.065" fromto="0 0 0 0.25 0 -0.25"/>
        <joint axis="0 1 0" range="-60 50"/>
      </default>
      <default class="foot">
        <geom size="0.055" fromto="0 0 0 0 0 -0.25"/>
        <joint axis="0 1 0" range="-45 55"/>
      </default>
      <default class="toe">
        <geom type="sphere" size="0.08" friction="1.5" material="effector"/>
        <site type="sphere" size="0.084"/>
      </default>
    </default>
    <default class="leg_coupling">
      <equality solimp="0.95 0.99 0.01" solref="0.005 0.5"/>
    </default>
    <general ctrllimited="true" dyntype="filter" dynprm="0.1" gaintype="fixed" gainprm="1000"
             biastype="affine" biasprm="0 -1000 0"/>
    <default class="servo_yaw"><general ctrlrange="-1 1"/></default>
    <default class="servo_lift"><general ctrlrange="-1 1.1"/></default>
    <default class="servo_extend"><general ctrlrange="-0.8 0.8"/></default>
  </default>

  <worldbody>
    <geom name="floor" type="plane" size="100 100 0.5" material="grid"/>
    <camera name="global" pos="-10 10 10" xyaxes="-1 -1 0 1 0 1" mode="trackcom"/>
    <body name="torso" pos="0 0 0.57" childclass="animal">
      <freejoint name="root"/>
      <camera name="x" pos="-1.7 0 1" xyaxes="0 -1 0 0.75 0 1" mode="trackcom"/>
      <camera name="y" pos="0 4 2" xyaxes="-1 0 0 0 -0.5 1" mode="trackcom"/>
      <camera name="egocentric" pos="0.3 0 0.11" xyaxes="0 -1 0 0.4 0 1" fovy="60"/>
      <light name="light" pos="0 0 4" mode="trackcom"/>
      <geom name="torso" type="ellipsoid" size="0.3 0.27 0.2" density="1000"/>
      <geom name="eye_right" type="cylinder" size="0.05" fromto="0.1 -0.07 0.12 0.31 -0.07 0.08" mass="0"/>
      <geom name="eye_left" type="cylinder" size="0.05" fromto="0.1 0.07 0.12 0.31 0.07 0.08" mass="0"/>
      <site name="torso" size="0.05"/>

      <body name="hip_front_left" pos="0.2 0.2 0" euler="0 0 45" childclass="thigh">
        <joint name="yaw_front_left" class="hip_yaw"/>
        <joint name="pitch_front_left" class="hip_pitch"/>
        <geom name="thigh_front_left"/>
        <body name="knee_front_left" pos="0.3 0 0.11" childclass="shin">
          <joint name="knee_front_left"/>
          <geom name="shin_front_left"/>
          <body name="ankle_front_left" pos="0.25 0 -0.25" childclass="foot">
            <joint name="ankle_front_left"/>
            <geom name="foot_front_left"/>
            <body name="toe_front_left" pos="0 0 -0.3" childclass="toe">
              <geom name="toe_front_left"/>
              <site name="toe_front_left"/>
            </body>
          </body>
        </body>
      </body>

      <body name="hip_front_right" pos="0.2 -0.2 0" euler="0 0 -45" childclass="thigh">
        <joint name="yaw_front_right" class="hip_yaw"/>
        <joint name="pitch_front_right" class="hip_pitch"/>
        <geom name="thigh_front_right"/>
        <body name="knee_front_right" pos="0.3 0 0.11" childclass="shin">
          <joint name="knee_front_right"/>
          <geom name="shin_front_right"/>
          <body name="ankle_front_right" pos="0.25 0 -0.25" childclass="foot">
            <joint name="ankle_front_right"/>
            <geom name="foot_front_right"/>
            <body name="toe_front_right" pos="0 0 -0.3" childclass="toe">
              <geom name="toe_front_right"/>
              <site name="toe_front_right"/>
            </body>
          </body>
        </body>
      </body>

      <body name="hip_back_right" pos="-0.2 -0.2 0" euler="0 0 -135" childclass="thigh">
        <joint name="yaw_back_right" class="hip_yaw"/>
        <joint name="pitch_back_right" class="hip_pitch"/>
        <geom name="thigh_back_right"/>
        <body name="knee_back_right" pos="0.3 0 0.11" childclass="shin">
          <joint name="knee_back_right"/>
          <geom name="shin_back_right"/>
          <body name="ankle_back_right" pos="0.25 0 -0.25" childclass="foot">
            <joint name="ankle_back_right"/>
            <geom name="foot_back_right"/>
            <body name="toe_back_right" pos="0 0 -0.3" childclass="toe">
              <geom name="toe_back_right"/>
              <site name="toe_back_right"/>
            </body>
          </body>
        </body>
      </body>

      <body name="hip_back_left" pos="-0.2 0.2 0" euler="0 0 135" childclass="thigh">
        <joint name="yaw_back_left" class="hip_yaw"/>
        <joint name="pitch_back_left" class="hip_pitch"/>
        <geom name="thigh_back_left"/>
        <body name="knee_back_left" pos="0.3 0 0.11" childclass="shin">
          <joint name="knee_back_left"/>
          <geom name="shin_back_left"/>
          <body name="ankle_back_left" pos="0.25 0 -0.25" childclass="foot">
            <joint name="ankle_back_left"/>
            <geom name="foot_back_left"/>
            <body name="toe_back_left" pos="0 0 -0.3" childclass="toe">
              <geom name="toe_back_left"/>
              <site name="toe_back_left"/>
            </body>
          </body>
        </body>
      </body>
    </body>
  </worldbody>

  <tendon>
    <fixed name="coupling_front_left">
      <joint joint="pitch_front_left" coef="0.333"/>
      <joint joint="knee_front_left" coef="0.333"/>
      <joint joint="ankle_front_left" coef="0.333"/>
    </fixed>
    <fixed name="coupling_front_right">
      <joint joint="pitch_front_right" coef="0.333"/>
      <joint joint="knee_front_right" coef="0.333"/>
      <joint joint="ankle_front_right" coef="0.333"/>
    </fixed>
    <fixed name="coupling_back_right">
      <joint joint="pitch_back_right" coef="0.333"/>
      <joint joint="knee_back_right" coef="0.333"/>
      <joint joint="ankle_back_right" coef="0.333"/>
    </fixed>
    <fixed name="coupling_back_left">
      <joint joint="pitch_back_left" coef="0.333"/>
      <joint joint="knee_back_left" coef="0.333"/>
      <joint joint="ankle_back_left" coef="0.333"/>
    </fixed>
    <fixed name="extend_front_left">
      <joint joint="pitch_front_left" coef="0.25"/>
      <joint joint="knee_front_left" coef="-0.5"/>
      <joint joint="ankle_front_left" coef="0.25"/>
    </fixed>
    <fixed name="lift_front_left">
      <joint joint="pitch_front_left" coef="0.5"/>
      <joint joint="ankle_front_left" coef="-0.5"/>
    </fixed>
    <fixed name="extend_front_right">
      <joint joint="pitch_front_right" coef="0.25"/>
      <joint joint="knee_front_right" coef="-0.5"/>
      <joint joint="ankle_front_right" coef="0.25"/>
    </fixed>
    <fixed name="lift_front_right">
      <joint joint="pitch_front_right" coef="0.5"/>
      <joint joint="ankle_front_right" coef="-0.5"/>
    </fixed>
    <fixed name="extend_back_right">
      <joint joint="pitch_back_right" coef="0.25"/>
      <joint joint="knee_back_right" coef="-0.5"/>
      <joint joint="ankle_back_right" coef="0.25"/>
    </fixed>
    <fixed name="lift_back_right">
      <joint joint="pitch_back_right" coef="0.5"/>
      <joint joint="ankle_back_right" coef="-0.5"/>
    </fixed>
    <fixed name="extend_back_left">
      <joint joint="pitch_back_left" coef="0.25"/>
      <joint joint="knee_back_left" coef="-0.5"/>
      <joint joint="ankle_back_left" coef="0.25"/>
    </fixed>
    <fixed name="lift_back_left">
      <joint joint="pitch_back_left" coef="0.5"/>
      <joint joint="ankle_back_left" coef="-0.5"/>
    </fixed>
  </tendon>

  <equality>
    <tendon name="coupling_front_left" tendon1="coupling_front_left" class="leg_coupling"/>
    <tendon name="coupling_front_right" tendon1="coupling_front_right" class="leg_coupling"/>
    <tendon name="coupling_back_right" tendon1="coupling_back_right" class="leg_coupling"/>
    <tendon name="coupling_back_left" tendon1="coupling_back_left" class="leg_coupling"/>
  </equality>

  <actuator>
    <general name="yaw_front_left" class="servo_yaw" joint="yaw_front_left"/>
    <general name="lift_front_left" class="servo_lift" tendon="lift_front_left"/>
    <general name="extend_front_left" class="servo_extend" tendon="extend_front_left"/>
    <general name="yaw_front_right" class="servo_yaw" joint="yaw_front_right"/>
    <general name="lift_front_right" class="servo_lift" tendon="lift_front_right"/>
    <general name="extend_front_right" class="servo_extend" tendon="extend_front_right"/>
    <general name="yaw_back_right" class="servo_yaw" joint="yaw_back_right"/>
    <general name="lift_back_right" class="servo_lift" tendon="lift_back_right"/>
    <general name="extend_back_right" class="servo_extend" tendon="extend_back_right"/>
    <general name="yaw_back_left" class="servo_yaw" joint="yaw_back_left"/>
    <general name="lift_back_left" class="servo_lift" tendon="lift_back_left"/>
    <general name="extend_back_left" class="servo_extend" tendon="extend_back_left"/>
  </actuator>

  <sensor>
    <accelerometer name="imu_accel" site="torso"/>
    <gyro name="imu_gyro" site="torso"/>
    <velocimeter name="velocimeter" site="torso"/>
    <force name="force_toe_front_left" site="toe_front_left"/>
    <force name="force_toe_front_right" site="toe_front_right"/>
    <force name="force_toe_back_right" site="toe_back_right"/>
    <force name="force_toe_back_left" site="toe_back_left"/>
    <torque name="torque_toe_front_left" site="toe_front_left"/>
    <torque name="torque_toe_front_right" site="toe_front_right"/>
    <torque name="torque_toe_back_right" site="toe_back_right"/>
    <torque name="torque_toe_back_left" site="toe_back_left"/>
  </sensor>
</mujoco>
)MJCF";

constexpr double kControlTimestep = 0.02;
constexpr double kRunSpeed = 5.0;          // local forward speed above which move = 1
constexpr int kMaxHeightAttempts = 10000;  // 1 cm steps: the body starts at most 100 m up
constexpr double kHeightStep = 0.01;

const char* const kToes[] = {"toe_front_left", "toe_front_right", "toe_back_right", "toe_back_left"};

class QuadrupedRun final : public Env {
 public:
  explicit QuadrupedRun(std::uint64_t seed) : Env("quadruped_run", kModel, kControlTimestep, seed) {
    const mjModel* m = physics().model();
    if (m->nq != 23 || m->nv != 22 || m->nu != 12 || m->na != 12)
      throw std::logic_error("quadruped_run: model sizes differ from the suite's (nq 23, nv 22, nu 12, na 12)");
    for (int j = 0; j < m->njnt; ++j) {
      if (m->jnt_type[j] != mjJNT_HINGE) continue;
      hinge_qpos_.push_back(m->jnt_qposadr[j]);
      hinge_dof_.push_back(m->jnt_dofadr[j]);
    }
    root_qpos_ = m->jnt_qposadr[physics().joint("root")];
    torso_ = physics().body("torso");
    velocimeter_ = physics().sensor("velocimeter");
    accelerometer_ = physics().sensor("imu_accel");
    gyro_ = physics().sensor("imu_gyro");
    for (const char* toe : kToes) force_.push_back(physics().sensor(std::string("force_") + toe));
    for (const char* toe : kToes) torque_.push_back(physics().sensor(std::string("torque_") + toe));
    set_obs_dim(static_cast<int>(2 * hinge_qpos_.size()) + m->na + 3 + 1 + 6 + 24);
  }

 protected:
  // A random orientation (a normalised Gaussian quaternion) at the origin, raised from z = 0 in
  // 1 cm steps until nothing touches; every attempt starts from the model's initial state.
  void initialize_episode() override {
    mjModel* m = physics().model();
    mjData* d = physics().data();
    double quat[4], norm = 0.0;
    for (double& q : quat) {
      q = rng().normal();
      norm += q * q;
    }
    norm = std::sqrt(norm);
    for (double& q : quat) q /= norm;
    double z = 0.0;
    for (int attempt = 0;; ++attempt) {
      if (attempt >= kMaxHeightAttempts)
        throw std::runtime_error("quadruped_run: no contact-free starting height found in " +
                                 std::to_string(kMaxHeightAttempts) + " attempts");
      mj_resetData(m, d);
      d->qpos[root_qpos_ + 0] = 0.0;
      d->qpos[root_qpos_ + 1] = 0.0;
      d->qpos[root_qpos_ + 2] = z;
      for (int k = 0; k < 4; ++k) d->qpos[root_qpos_ + 3 + k] = quat[k];
      physics().forward_without_actuation();
      if (d->ncon == 0) return;
      z += kHeightStep;
    }
  }

  // egocentric state (hinge qpos, hinge qvel, act), torso velocimeter, torso zz, accelerometer,
  // gyro, asinh of the toes' forces then torques.
  void observe(double* out) const override {
    const mjModel* m = physics().model();
    const mjData* d = physics().data();
    double* o = out;
    for (int a : hinge_qpos_) *o++ = d->qpos[a];
    for (int a : hinge_dof_) *o++ = d->qvel[a];
    for (int i = 0; i < m->na; ++i) *o++ = d->act[i];
    o = copy_sensor(velocimeter_, o, false);
    *o++ = d->xmat[9 * torso_ + 8];
    o = copy_sensor(accelerometer_, o, false);
    o = copy_sensor(gyro_, o, false);
    for (int s : force_) o = copy_sensor(s, o, true);
    for (int s : torque_) o = copy_sensor(s, o, true);
  }

  // upright = (1 + zz) / 2 (dm_control: tolerance(zz, (1, inf), margin 2, linear, 0));
  // move = tolerance(local forward speed, (5, inf), margin 5, linear, 0.5).
  double reward() const override {
    const double zz = physics().data()->xmat[9 * torso_ + 8];
    const double upright = tolerance(zz, 1.0, std::numeric_limits<double>::infinity(), 2.0,
                                     Sigmoid::Linear, 0.0);
    const double vx = physics().sensor_data(velocimeter_)[0];
    const double move = tolerance(vx, kRunSpeed, std::numeric_limits<double>::infinity(),
                                  kRunSpeed, Sigmoid::Linear, 0.5);
    return upright * move;
  }

 private:
  double* copy_sensor(int sensor, double* out, bool asinh) const {
    const mjtNum* v = physics().sensor_data(sensor);
    for (int k = 0; k < physics().model()->sensor_dim[sensor]; ++k) *out++ = asinh ? std::asinh(v[k]) : v[k];
    return out;
  }

  std::vector<int> hinge_qpos_, hinge_dof_;
  int root_qpos_ = 0;
  int torso_ = 0;
  int velocimeter_ = 0, accelerometer_ = 0, gyro_ = 0;
  std::vector<int> force_, torque_;
};

}  // namespace

std::unique_ptr<Env> make_quadruped_run(std::uint64_t seed) {
  return std::make_unique<QuadrupedRun>(seed);
}

}  // namespace pbtnas::rl
