// The environments by name: one line each. Bands: random-policy returns of docs/rl.md.
#include "pbtnas/tasks/rl/env.hpp"
#include "pbtnas/tasks/rl/envs.hpp"

namespace pbtnas::rl {

const std::vector<EnvEntry>& env_registry() {
  static const std::vector<EnvEntry> entries{
      // {"cartpole_swingup", lo, hi, make_cartpole_swingup},
  };
  return entries;
}

}  // namespace pbtnas::rl
