// quadruped_run: written by its owner (see include/pbtnas/tasks/rl/envs.hpp).
#include "pbtnas/tasks/rl/envs.hpp"
