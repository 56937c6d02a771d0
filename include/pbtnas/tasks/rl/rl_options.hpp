#pragma once
// Options of the RL task (`rl:` section): DrQ-v2's state-based DDPG agent on one environment
// (docs/rl.md). Every default here is the paper's Quadruped Run setting (ALGORITHM §4.6) except
// the environment (cartpole_swingup, the smoke task); every range is checked in validate().
// Torch-free, so that configs are checked anywhere.
#include <cstdint>
#include <string>

#include "pbtnas/core/config.hpp"

namespace pbtnas {
class ConfigSection;
}

namespace pbtnas::rl {

struct RlOptions : TaskOptions {
  std::string env = "cartpole_swingup";  // cartpole_swingup | walker_run | quadruped_run | humanoid_run
  std::string input = "state";           // state | pixels (84x84 RGB frames, DrQ-v2's encoder)
  // Pixel input (docs/rl.md, "Pixels and rendering"); ignored with state input.
  int frame_stack = 3;                    // stacked frames per observation (paper: 3)
  int image_size = 84;                    // square frames of image_size pixels (paper: 84)
  int camera = -1;                        // model camera; -1: the environment's (2 quadruped, 0 else)
  int shift_pad = 4;                      // random-shift augmentation padding (paper: 4; 0: off)
  std::string render = "auto";            // OpenGL platform: auto | egl | osmesa (MUJOCO_GL overrides)
  int hidden_dim = 1024;                  // width of the searchable layers (paper: 1024)
  std::int64_t frames_per_epoch = 10000;  // an "epoch" of the schedule is this many frames
  int action_repeat = 2;                  // frames per agent step; rewards summed over them
  int batch_size = 256;                   // paper: 256 (Walker: 512)
  double lr = 1e-4;                       // Adam(0.9, 0.999, eps 1e-8); paper: 1e-4 (Humanoid 8e-5)
  int nstep = 3;                          // n-step returns; paper: 3 (Walker: 1)
  double discount = 0.99;
  // member: a replay buffer per member (moves with the donor at an exploit); shared: one pool for
  // the population (docs/rl.md, "Shared replay pool"; paper Walker and Humanoid).
  std::string replay = "member";
  std::int64_t replay_capacity = 100000;  // replay: member: steps per member, FIFO (paper Quadruped: 100 k)
  std::int64_t pool_capacity = 1000000;   // replay: shared: steps in the pool, FIFO (paper: 1 M)
  double stddev_start = 1.0;              // exploration sigma: linear(start -> end over steps)
  double stddev_end = 0.1;
  std::int64_t stddev_steps = 500000;     // agent steps (paper: 500 k; Humanoid 2 M)
  double stddev_clip = 0.3;               // clip of the target-policy and actor-loss noise
  std::int64_t seed_frames = 4000;        // no updates before this many frames (from the start)
  std::int64_t exploration_steps = 2000;  // uniform random actions for the first agent steps
  int update_every_steps = 2;             // one update every k agent steps
  double critic_tau = 0.01;               // target critic: tau * critic + (1 - tau) * target
  int eval_episodes = 10;                 // episodes behind a fitness value (deterministic policy)
  int final_eval_episodes = 30;           // re-evaluation of the best-ever member after the search
  // true (published behaviour, docs/algorithm.md Q6): layers whose spectral norm is enabled keep
  // PyTorch's default init instead of the orthogonal one.
  bool sn_init_quirk = true;

  // Throws std::invalid_argument "'rl.<key>' = v is out of range; expected ...".
  void validate() const;
  // Reads the `rl:` section (absent: all defaults) and validates it.
  static RlOptions parse(ConfigSection section);

  std::int64_t agent_steps_per_epoch() const { return frames_per_epoch / action_repeat; }
  bool pixels() const { return input == "pixels"; }
  // The camera of pixel observations (camera, or the environment's when -1).
  int pixel_camera() const;
  bool shared_replay() const { return replay == "shared"; }
};

}  // namespace pbtnas::rl
