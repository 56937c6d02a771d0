// The environments by name: one line each. Bands: random-policy returns of docs/rl.md.
#include "pbtnas/tasks/rl/env.hpp"
#include "pbtnas/tasks/rl/envs.hpp"

namespace pbtnas::rl {

const std::vector<EnvEntry>& env_registry() {
  static const std::vector<EnvEntry> entries{
      {"cartpole_swingup", 10.0, 48.0, make_cartpole_swingup},
      {"walker_run", 20.0, 27.0, make_walker_run},
      {"quadruped_run", 20.0, 300.0, make_quadruped_run, 2},
      {"humanoid_run", 0.3, 1.5, make_humanoid_run},
  };
  return entries;
}

}  // namespace pbtnas::rl
