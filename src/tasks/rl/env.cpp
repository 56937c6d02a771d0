#include "pbtnas/tasks/rl/env.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace pbtnas::rl {

double tolerance(double x, double lo, double hi, double margin, Sigmoid sigmoid,
                 double value_at_margin) {
  if (lo > hi) throw std::invalid_argument("tolerance: lower bound above upper bound");
  if (margin < 0) throw std::invalid_argument("tolerance: margin must be >= 0");
  const bool inside = lo <= x && x <= hi;
  if (inside) return 1.0;
  if (margin == 0) return 0.0;
  const double d = (x < lo ? lo - x : x - hi) / margin;
  switch (sigmoid) {
    case Sigmoid::Gaussian: {
      const double scale = std::sqrt(-2.0 * std::log(value_at_margin));
      return std::exp(-0.5 * (d * scale) * (d * scale));
    }
    case Sigmoid::Linear: {
      const double v = 1.0 - d * (1.0 - value_at_margin);
      return (v > 0.0 && v <= 1.0) ? v : 0.0;
    }
    case Sigmoid::Quadratic: {
      const double scaled = d * std::sqrt(1.0 - value_at_margin);
      return scaled < 1.0 ? 1.0 - scaled * scaled : 0.0;
    }
  }
  return 0.0;
}

Physics::Physics(const std::string& mjcf, const std::string& name) {
  mjVFS vfs;
  mj_defaultVFS(&vfs);
  const std::string file = name + ".xml";
  if (mj_makeEmptyFileVFS(&vfs, file.c_str(), static_cast<int>(mjcf.size())) != 0)
    throw std::runtime_error("MuJoCo: cannot hold the model '" + name + "' in memory");
  const int i = mj_findFileVFS(&vfs, file.c_str());
  std::copy(mjcf.begin(), mjcf.end(), static_cast<char*>(vfs.filedata[i]));
  char error[1000] = "";
  m_ = mj_loadXML(file.c_str(), &vfs, error, sizeof(error));
  mj_deleteVFS(&vfs);
  if (!m_) throw std::runtime_error("MuJoCo: model '" + name + "' does not compile: " + error);
  d_ = mj_makeData(m_);
  if (!d_) {
    mj_deleteModel(m_);
    throw std::runtime_error("MuJoCo: cannot allocate the data of model '" + name + "'");
  }
}

Physics::~Physics() {
  if (d_) mj_deleteData(d_);
  if (m_) mj_deleteModel(m_);
}

namespace {
int id_of(const mjModel* m, mjtObj type, const std::string& name, const char* what) {
  const int id = mj_name2id(m, type, name.c_str());
  if (id < 0) throw std::runtime_error(std::string("MuJoCo model has no ") + what + " '" + name + "'");
  return id;
}
}  // namespace

int Physics::body(const std::string& name) const { return id_of(m_, mjOBJ_BODY, name, "body"); }
int Physics::joint(const std::string& name) const { return id_of(m_, mjOBJ_JOINT, name, "joint"); }
int Physics::site(const std::string& name) const { return id_of(m_, mjOBJ_SITE, name, "site"); }
int Physics::sensor(const std::string& name) const { return id_of(m_, mjOBJ_SENSOR, name, "sensor"); }
const mjtNum* Physics::sensor_data(int sensor_id) const {
  return d_->sensordata + m_->sensor_adr[sensor_id];
}

void Physics::forward_without_actuation() {
  const int saved = m_->opt.disableflags;
  m_->opt.disableflags = saved | mjDSBL_ACTUATION;
  mj_forward(m_, d_);
  m_->opt.disableflags = saved;
}

void randomize_limited_and_rotational_joints(const Physics& physics, Rng& rng) {
  const mjModel* m = physics.model();
  mjData* d = physics.data();
  constexpr double kPi = 3.14159265358979323846;
  for (int j = 0; j < m->njnt; ++j) {
    const int adr = m->jnt_qposadr[j];
    const bool limited = m->jnt_limited[j] != 0;
    const double lo = m->jnt_range[2 * j], hi = m->jnt_range[2 * j + 1];
    switch (m->jnt_type[j]) {
      case mjJNT_HINGE:
        d->qpos[adr] = limited ? lo + (hi - lo) * rng.uniform() : -kPi + 2 * kPi * rng.uniform();
        break;
      case mjJNT_SLIDE:
        if (limited) d->qpos[adr] = lo + (hi - lo) * rng.uniform();
        break;
      case mjJNT_BALL:
      case mjJNT_FREE: {
        const int q = adr + (m->jnt_type[j] == mjJNT_FREE ? 3 : 0);
        double quat[4], norm = 0;
        for (double& v : quat) {
          v = rng.uniform();
          norm += v * v;
        }
        norm = std::sqrt(norm);
        for (int k = 0; k < 4; ++k) d->qpos[q + k] = quat[k] / norm;
        break;
      }
    }
  }
}

std::string with_suite_look(const std::string& mjcf) {
  // The suite's common visual settings, skybox and materials (dm_control's common/visual.xml,
  // skybox.xml and materials.xml; facts only). The skybox's random star marks are left out.
  static const char* kLook = R"MJCF(
  <visual>
    <headlight ambient="0.4 0.4 0.4" diffuse="0.8 0.8 0.8" specular="0.1 0.1 0.1"/>
    <map znear="0.01"/>
    <quality shadowsize="2048"/>
  </visual>
  <asset>
    <texture name="skybox" type="skybox" builtin="gradient" rgb1="0.4 0.6 0.8" rgb2="0 0 0" width="800" height="800"/>
    <texture name="grid" type="2d" builtin="checker" rgb1="0.1 0.2 0.3" rgb2="0.2 0.3 0.4" width="300" height="300"
             mark="edge" markrgb="0.2 0.3 0.4"/>
    <material name="grid" texture="grid" texrepeat="1 1" texuniform="true" reflectance="0.2"/>
    <material name="self" rgba="0.7 0.5 0.3 1"/>
    <material name="effector" rgba="0.7 0.4 0.2 1"/>
    <material name="decoration" rgba="0.3 0.5 0.7 1"/>
    <material name="eye" rgba="0 0.2 1 1"/>
  </asset>
)MJCF";
  const std::size_t open = mjcf.find("<mujoco");
  const std::size_t end = open == std::string::npos ? open : mjcf.find('>', open);
  if (end == std::string::npos) throw std::logic_error("MJCF text without a <mujoco> element");
  std::string out = mjcf;
  out.insert(end + 1, kLook);
  return out;
}

Env::Env(std::string name, const std::string& mjcf, double control_timestep, std::uint64_t seed)
    : name_(std::move(name)), physics_(with_suite_look(mjcf), name_), rng_(seed) {
  const double dt = physics_.model()->opt.timestep;
  n_sub_ = static_cast<int>(std::lround(control_timestep / dt));
  if (n_sub_ < 1 || std::abs(n_sub_ * dt - control_timestep) > 1e-9)
    throw std::logic_error("environment " + name_ + ": control timestep is not a multiple of the model's");
}

void Env::reset() {
  mjModel* m = physics_.model();
  mjData* d = physics_.data();
  mj_resetData(m, d);
  physics_.forward_without_actuation();
  initialize_episode();
  physics_.forward_without_actuation();
  step_ = 0;
  observe(obs_.data());
}

double Env::step(const float* action) {
  mjModel* m = physics_.model();
  mjData* d = physics_.data();
  for (int i = 0; i < m->nu; ++i) {
    const double a = std::clamp(static_cast<double>(action[i]), -1.0, 1.0);
    const double lo = m->actuator_ctrlrange[2 * i], hi = m->actuator_ctrlrange[2 * i + 1];
    d->ctrl[i] = m->actuator_ctrllimited[i] ? lo + (a + 1.0) * 0.5 * (hi - lo) : a;
  }
  // dm_control's legacy stepping: the first substep finishes the step begun by the previous
  // mj_step1; RK4 cannot be split, so it steps whole.
  if (m->opt.integrator == mjINT_RK4) {
    for (int k = 0; k < n_sub_; ++k) mj_step(m, d);
  } else {
    mj_step2(m, d);
    for (int k = 1; k < n_sub_; ++k) mj_step(m, d);
  }
  mj_step1(m, d);
  ++step_;
  const double r = reward();
  observe(obs_.data());
  return r;
}

const std::vector<EnvEntry>& env_registry();  // env_registry.cpp

const EnvEntry& env_entry(const std::string& name) {
  std::string names;
  for (const auto& e : env_registry()) {
    if (e.name == name) return e;
    names += (names.empty() ? "" : ", ") + e.name;
  }
  throw std::invalid_argument("'" + name + "' is not an environment; valid environments: " + names);
}

std::unique_ptr<Env> make_env(const std::string& name, std::uint64_t seed) { return env_entry(name).make(seed); }

void Env::render(int size, int camera, GlBackend backend, std::uint8_t* out) {
  if (!renderer_ || renderer_->width() != size)
    renderer_ = std::make_unique<Renderer>(physics_.model(), size, size, backend);
  renderer_->render(physics_.model(), physics_.data(), camera, out);
}

}  // namespace pbtnas::rl
