#include "pbtnas/tasks/rl/rl_options.hpp"

#include <stdexcept>

#include "pbtnas/core/config_section.hpp"
#include "pbtnas/tasks/rl/env.hpp"

namespace pbtnas::rl {

void RlOptions::validate() const {
  std::string names;
  bool known = false;
  for (const auto& e : env_registry()) {
    known = known || e.name == env;
    names += (names.empty() ? "" : ", ") + e.name;
  }
  if (!known)
    throw std::invalid_argument("'rl.env' = '" + env + "' is not an environment; valid environments: " + names);
  if (input != "state" && input != "pixels")
    throw std::invalid_argument("'rl.input' = '" + input + "' is not an input; expected state or pixels");
  check_range("rl.frame_stack", frame_stack, 1, 16, "an integer in [1, 16] (paper: 3)");
  check_range("rl.image_size", image_size, 16, 1024, "a frame side in [16, 1024] pixels (paper: 84)");
  check_range("rl.camera", camera, -1, 64, "-1 (the environment's camera) or a camera id of the model");
  check_range("rl.shift_pad", shift_pad, 0, 64, "a padding in [0, 64] pixels (paper: 4; 0 turns the shift off)");
  try {
    parse_gl_backend(render);
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument("'rl.render' = '" + render + "' is not a rendering platform; expected auto, egl or "
                                "osmesa (the environment variable MUJOCO_GL overrides it)");
  }
  if (pixels() && camera >= 0) {
    auto probe = make_env(env, 0);
    if (camera >= probe->physics().model()->ncam)
      throw std::invalid_argument("'rl.camera' = " + std::to_string(camera) + " is not a camera of " + env + " (it has " +
                                  std::to_string(probe->physics().model()->ncam) +
                                  "); use -1 for the environment's pixel camera");
  }
  check_range("rl.hidden_dim", hidden_dim, 1, kMaxWidth, "an integer in [1, 16384] (paper: 1024)");
  check_range("rl.action_repeat", action_repeat, 1, 100, "an integer in [1, 100] (paper: 2)");
  check_range("rl.frames_per_epoch", frames_per_epoch, 1, kMaxCount, "a frame count (paper: 10000)");
  if (frames_per_epoch % action_repeat != 0)
    throw std::invalid_argument("'rl.frames_per_epoch' = " + std::to_string(frames_per_epoch) +
                                " is not a multiple of rl.action_repeat = " + std::to_string(action_repeat));
  check_range("rl.batch_size", batch_size, 1, kMaxBatch, "an integer in [1, 1048576] (paper: 256)");
  check_range("rl.lr", lr, 1e-12, 10.0, "a learning rate in (0, 10] (paper: 1e-4)");
  check_range("rl.nstep", nstep, 1, 100, "an integer in [1, 100] (paper: 3)");
  if (nstep >= Env::kTimeLimit / action_repeat)
    throw std::invalid_argument("'rl.nstep' = " + std::to_string(nstep) +
                                " is not shorter than an episode (" +
                                std::to_string(Env::kTimeLimit / action_repeat) + " agent steps)");
  check_range("rl.discount", discount, 0.0, 1.0, "a value in [0, 1] (paper: 0.99)");
  check_range("rl.replay_capacity", replay_capacity, 2, 100000000,
              "a transition count in [2, 1e8] (paper Quadruped: 100000)");
  if (replay_capacity <= nstep)
    throw std::invalid_argument("'rl.replay_capacity' = " + std::to_string(replay_capacity) +
                                " must exceed rl.nstep = " + std::to_string(nstep));
  check_choice("rl.replay", replay, {"member", "shared"});
  check_range("rl.pool_capacity", pool_capacity, 2, 1000000000,
              "a transition count in [2, 1e9] (paper Walker and Humanoid: 1000000)");
  if (pool_capacity <= nstep)
    throw std::invalid_argument("'rl.pool_capacity' = " + std::to_string(pool_capacity) +
                                " must exceed rl.nstep = " + std::to_string(nstep));
  check_range("rl.stddev_start", stddev_start, 0.0, 100.0, "a value in [0, 100] (paper: 1.0)");
  check_range("rl.stddev_end", stddev_end, 0.0, 100.0, "a value in [0, 100] (paper: 0.1)");
  check_range("rl.stddev_steps", stddev_steps, 1, kMaxCount, "an agent-step count (paper: 500000)");
  check_range("rl.stddev_clip", stddev_clip, 0.0, 100.0, "a value in [0, 100] (paper: 0.3)");
  check_range("rl.seed_frames", seed_frames, 0, kMaxCount, "a frame count (paper: 4000)");
  check_range("rl.exploration_steps", exploration_steps, 0, kMaxCount, "an agent-step count (paper: 2000)");
  check_range("rl.update_every_steps", update_every_steps, 1, 1000, "an integer in [1, 1000] (paper: 2)");
  check_range("rl.critic_tau", critic_tau, 0.0, 1.0, "a value in [0, 1] (paper: 0.01)");
  check_range("rl.eval_episodes", eval_episodes, 1, 100000, "an integer >= 1 (paper: 10)");
  check_range("rl.final_eval_episodes", final_eval_episodes, 0, 100000, "0 (off) or an episode count");
}

int RlOptions::pixel_camera() const { return camera >= 0 ? camera : env_entry(env).pixel_camera; }

RlOptions RlOptions::parse(ConfigSection s) {
  RlOptions c;
  s.get("env", c.env);
  s.get("input", c.input);
  s.get("frame_stack", c.frame_stack);
  s.get("image_size", c.image_size);
  s.get("camera", c.camera);
  s.get("shift_pad", c.shift_pad);
  s.get("render", c.render);
  s.get("hidden_dim", c.hidden_dim);
  s.get("frames_per_epoch", c.frames_per_epoch);
  s.get("action_repeat", c.action_repeat);
  s.get("batch_size", c.batch_size);
  s.get("lr", c.lr);
  s.get("nstep", c.nstep);
  s.get("discount", c.discount);
  s.get("replay", c.replay);
  check_choice("rl.replay", c.replay, {"member", "shared"});
  // Each capacity belongs to one kind of replay: a key of the other kind would be silently unused.
  if (c.replay == "shared" && s.has("replay_capacity"))
    throw std::invalid_argument("'rl.replay_capacity' sizes a member's own buffer, which members do not have with "
                                "rl.replay: shared; set the pool's size with rl.pool_capacity instead");
  if (c.replay != "shared" && s.has("pool_capacity"))
    throw std::invalid_argument("'rl.pool_capacity' sizes the shared pool, which exists only with rl.replay: shared "
                                "(rl.replay is '" + c.replay + "'); set rl.replay: shared, or size each member's "
                                "buffer with rl.replay_capacity");
  s.get("replay_capacity", c.replay_capacity);
  s.get("pool_capacity", c.pool_capacity);
  s.get("stddev_start", c.stddev_start);
  s.get("stddev_end", c.stddev_end);
  s.get("stddev_steps", c.stddev_steps);
  s.get("stddev_clip", c.stddev_clip);
  s.get("seed_frames", c.seed_frames);
  s.get("exploration_steps", c.exploration_steps);
  s.get("update_every_steps", c.update_every_steps);
  s.get("critic_tau", c.critic_tau);
  s.get("eval_episodes", c.eval_episodes);
  s.get("final_eval_episodes", c.final_eval_episodes);
  s.get("sn_init_quirk", c.sn_init_quirk);
  s.reject_unknown("(docs/config.md lists the rl keys)");
  c.validate();
  return c;
}

}  // namespace pbtnas::rl
