// cartpole_swingup: the DeepMind Control Suite's Cartpole Swingup (Tassa et al. 2018) with our own
// MJCF model and task code (docs/rl.md, "cartpole_swingup").
#include <cmath>
#include <memory>

#include "pbtnas/tasks/rl/envs.hpp"

namespace pbtnas::rl {
namespace {

// Physical facts of the suite's cartpole (dm_control's cartpole.xml), written here by us:
//  * option: timestep 0.01, RK4 integrator, contacts disabled (the cart and pole never touch
//    anything), default gravity (0 0 -9.81);
//  * cart: a 0.4 x 0.3 x 0.2 box (half sizes 0.2 0.15 0.1) of mass 1 at height 1, on a slide
//    joint along x limited to [-1.8, 1.8] (the rail) with damping 5e-4 and a soft limit
//    (solreflimit 0.08 1);
//  * pole: a capsule of radius 0.045 from the hinge to 1 m above it (length 1, COM 0.5 from the
//    hinge) with mass 0.1; hinge about y with damping 2e-6, no armature, no frictionloss.
//    At qpos = 0 the pole points straight up, so the hanging pole is at angle pi;
//  * one motor on the slider, gear 10, ctrlrange [-1, 1].
// Visual-only elements of the suite (floor, rails, lights, cameras, materials) are omitted: the
// floor and rails have no effect on the dynamics since contacts are disabled.
constexpr const char* kModel = R"MJCF(
<mujoco model="pbtnas_cartpole">
  <compiler angle="radian"/>
  <option timestep="0.01" integrator="RK4">
    <flag contact="disable"/>
  </option>
  <worldbody>
    <light name="light" pos="0 0 6"/>
    <camera name="fixed" pos="0 -4 1" zaxis="0 -1 0"/>
    <camera name="lookatcart" mode="targetbody" target="cart" pos="0 -2 2"/>
    <geom name="floor" pos="0 0 -0.05" size="4 4 0.2" type="plane" material="grid"/>
    <geom name="rail1" type="capsule" pos="0 0.07 1" zaxis="1 0 0" size="0.02 2" material="decoration"/>
    <geom name="rail2" type="capsule" pos="0 -0.07 1" zaxis="1 0 0" size="0.02 2" material="decoration"/>
    <body name="cart" pos="0 0 1">
      <joint name="slider" type="slide" axis="1 0 0" limited="true" range="-1.8 1.8"
             damping="5e-4" solreflimit="0.08 1"/>
      <geom name="cart" type="box" size="0.2 0.15 0.1" mass="1" material="self"/>
      <body name="pole">
        <joint name="hinge" type="hinge" axis="0 1 0" damping="2e-6"/>
        <geom name="pole" type="capsule" fromto="0 0 0  0 0 1" size="0.045" mass="0.1" material="self"/>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor name="slide" joint="slider" gear="10" ctrllimited="true" ctrlrange="-1 1"/>
  </actuator>
</mujoco>
)MJCF";

constexpr double kPi = 3.14159265358979323846;

class CartpoleSwingup final : public Env {
 public:
  explicit CartpoleSwingup(std::uint64_t seed)
      : Env("cartpole_swingup", kModel, /*control_timestep=*/0.01, seed) {
    const Physics& p = physics();
    const mjModel* m = p.model();
    slider_q_ = m->jnt_qposadr[p.joint("slider")];
    slider_v_ = m->jnt_dofadr[p.joint("slider")];
    hinge_q_ = m->jnt_qposadr[p.joint("hinge")];
    hinge_v_ = m->jnt_dofadr[p.joint("hinge")];
    pole_ = p.body("pole");
    set_obs_dim(5);
  }

 protected:
  // Swing-up: the cart near the centre, the pole hanging down, small random velocities.
  void initialize_episode() override {
    mjData* d = physics().data();
    d->qpos[slider_q_] = 0.01 * rng().normal();
    d->qpos[hinge_q_] = kPi + 0.01 * rng().normal();
    for (int i = 0; i < physics().model()->nv; ++i) d->qvel[i] = 0.01 * rng().normal();
  }

  // [cart x, cos(angle), sin(angle), cart velocity, angular velocity]; cos and sin are the zz
  // and xz entries of the pole's orientation matrix (as the suite reads them).
  void observe(double* out) const override {
    const mjData* d = physics().data();
    out[0] = d->qpos[slider_q_];
    out[1] = d->xmat[9 * pole_ + 8];
    out[2] = d->xmat[9 * pole_ + 2];
    out[3] = d->qvel[slider_v_];
    out[4] = d->qvel[hinge_v_];
  }

  double reward() const override {
    const mjData* d = physics().data();
    const double upright = (d->xmat[9 * pole_ + 8] + 1.0) / 2.0;
    const double centered = (1.0 + tolerance(d->qpos[slider_q_], 0, 0, 2.0)) / 2.0;
    const double small_control =
        (4.0 + tolerance(d->ctrl[0], 0, 0, 1.0, Sigmoid::Quadratic, 0.0)) / 5.0;
    const double small_velocity = (1.0 + tolerance(d->qvel[hinge_v_], 0, 0, 5.0)) / 2.0;
    return upright * centered * small_control * small_velocity;
  }

 private:
  int slider_q_ = 0, slider_v_ = 0, hinge_q_ = 0, hinge_v_ = 0, pole_ = 0;
};

}  // namespace

std::unique_ptr<Env> make_cartpole_swingup(std::uint64_t seed) {
  return std::make_unique<CartpoleSwingup>(seed);
}

}  // namespace pbtnas::rl
