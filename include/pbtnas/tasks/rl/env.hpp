#pragma once
// Continuous-control environments on MuJoCo 2.2.2 with the DeepMind Control Suite's semantics
// (docs/rl.md, "Environments"): our own MJCF models and task code, the suite's stepping order,
// resets, joint randomiser, observation layouts and rewards; 1000 control steps per episode, ended
// by truncation only. No LibTorch here: the agent (tasks/rl/agent.hpp) converts observations.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <mujoco/mujoco.h>

#include "pbtnas/core/seed.hpp"
#include "pbtnas/tasks/rl/render.hpp"

namespace pbtnas::rl {

// dm_control's rewards.tolerance: 1 inside [lo, hi]; outside, with d = distance to the nearest
// bound / margin, a sigmoid s(d) with s(0) = 1 and s(1) = value_at_margin (margin 0: 0 outside).
enum class Sigmoid { Gaussian, Linear, Quadratic };
double tolerance(double x, double lo, double hi, double margin = 0.0,
                 Sigmoid sigmoid = Sigmoid::Gaussian, double value_at_margin = 0.1);

// One MuJoCo model and its data, loaded from MJCF text (no files: the text is compiled in).
class Physics {
 public:
  // Throws std::runtime_error with MuJoCo's message when the text does not compile.
  Physics(const std::string& mjcf, const std::string& name);
  ~Physics();
  Physics(const Physics&) = delete;
  Physics& operator=(const Physics&) = delete;

  mjModel* model() const { return m_; }
  mjData* data() const { return d_; }
  // Ids by name; throw std::runtime_error naming the missing element.
  int body(const std::string& name) const;
  int joint(const std::string& name) const;
  int site(const std::string& name) const;
  int sensor(const std::string& name) const;
  // The sensor's values in sensordata (dimension mjModel::sensor_dim).
  const mjtNum* sensor_data(int sensor_id) const;
  // mj_forward with actuation disabled (dm_control's reset context).
  void forward_without_actuation();

 private:
  mjModel* m_ = nullptr;
  mjData* d_ = nullptr;
};

// dm_control's randomizers.randomize_limited_and_rotational_joints: limited hinge and slide
// joints uniform in their range; unlimited hinges uniform in [-pi, pi]; ball joints and free
// joints get a random orientation, a quaternion of uniform [0, 1) draws normalised.
void randomize_limited_and_rotational_joints(const Physics& physics, Rng& rng);

// An episodic task: reset() then step() until last(). Deterministic for a seed.
class Env {
 public:
  static constexpr int kTimeLimit = 1000;  // control steps per episode

  // control_timestep: seconds per action; a multiple of the model's timestep (n_sub physics
  // steps per control step).
  Env(std::string name, const std::string& mjcf, double control_timestep, std::uint64_t seed);
  virtual ~Env() = default;

  const std::string& name() const { return name_; }
  int obs_dim() const { return obs_dim_; }
  int action_dim() const { return physics_.model()->nu; }
  double control_timestep() const { return physics_.model()->opt.timestep * n_sub_; }

  // Starts an episode; the first observation is observation().
  void reset();
  // One control step (one frame) with an action in [-1, 1]^action_dim (clamped), mapped
  // linearly onto each actuator's ctrlrange (DrQ-v2's action scaling). Returns the reward.
  double step(const float* action);
  bool last() const { return step_ >= kTimeLimit; }
  int episode_step() const { return step_; }
  const std::vector<double>& observation() const { return obs_; }

  const Physics& physics() const { return physics_; }
  Physics& physics() { return physics_; }  // tests place bodies directly
  Rng& rng() { return rng_; }

  // Pixel observations (docs/rl.md, "Pixels and rendering"): renders the current state from the
  // model's camera `camera` into `out`, 3 x size x size bytes (C, H, W). The renderer is made on
  // the first call (throws std::runtime_error with the fix when no OpenGL platform works).
  void render(int size, int camera, GlBackend backend, std::uint8_t* out);

 protected:
  // Called by subclasses' constructors once the observation size is known.
  void set_obs_dim(int n) { obs_dim_ = n; obs_.assign(static_cast<std::size_t>(n), 0.0); }
  // After mj_resetData and a forward pass without actuation: place the bodies (randomiser etc.).
  virtual void initialize_episode() = 0;
  virtual void observe(double* out) const = 0;  // writes obs_dim values
  virtual double reward() const = 0;            // in [0, 1]

 private:
  std::string name_;
  Physics physics_;
  Rng rng_;
  int n_sub_ = 1;
  int obs_dim_ = 0;
  int step_ = 0;
  std::vector<double> obs_;
  std::unique_ptr<Renderer> renderer_;
};

// The suite's visual settings, skybox and materials inserted into an MJCF text (every
// environment's model gets them; they do not change the dynamics).
std::string with_suite_look(const std::string& mjcf);

// The environments by name: cartpole_swingup, walker_run, quadruped_run, humanoid_run.
struct EnvEntry {
  std::string name;
  // Random-policy return band of docs/rl.md (uniform actions, mean over episodes), for tests.
  double random_return_lo = 0.0;
  double random_return_hi = 0.0;
  std::unique_ptr<Env> (*make)(std::uint64_t seed);
  // The camera of pixel observations (DrQ-v2's: 2 for quadruped, 0 otherwise).
  int pixel_camera = 0;
};
const std::vector<EnvEntry>& env_registry();
// Throws std::invalid_argument listing the names when `name` is not an environment.
std::unique_ptr<Env> make_env(const std::string& name, std::uint64_t seed);
// The registry entry of `name` (throws as make_env).
const EnvEntry& env_entry(const std::string& name);

}  // namespace pbtnas::rl
