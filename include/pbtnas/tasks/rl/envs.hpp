#pragma once
// Constructors of the environments (one source file each under src/tasks/rl/envs/).
#include <cstdint>
#include <memory>

#include "pbtnas/tasks/rl/env.hpp"

namespace pbtnas::rl {

std::unique_ptr<Env> make_cartpole_swingup(std::uint64_t seed);
std::unique_ptr<Env> make_walker_run(std::uint64_t seed);
std::unique_ptr<Env> make_quadruped_run(std::uint64_t seed);
std::unique_ptr<Env> make_humanoid_run(std::uint64_t seed);

}  // namespace pbtnas::rl
