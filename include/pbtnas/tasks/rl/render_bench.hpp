#pragma once
// Frames per second of the pixel observations (Env::render: scene update, render, read-back,
// rows flipped into a channel-major frame) against a plain render loop of the same model and
// camera in an OpenGL context of the same platform (mjv_updateScene + mjr_render +
// mjr_readPixels, nothing else), measured in the same process one after the other (docs/rl.md,
// "Pixels and rendering"). Used by `pbtnas bench-rl`. Torch-free.
#include <cstdint>
#include <string>

#include "pbtnas/tasks/rl/render.hpp"

namespace pbtnas::rl {

struct RenderBench {
  std::string env;
  int size = 0, camera = 0, frames = 0, reps = 0;
  GlBackend backend = GlBackend::Auto;  // the platform both loops used
  double ours_fps = 0.0;                // Env::render, best of reps
  double plain_fps = 0.0;               // the plain loop, best of reps
};

// Renders `frames` frames `reps` times in each loop (after a warm-up of 10 frames each) of the
// state after a reset with `seed`. Throws std::runtime_error when no OpenGL platform works.
RenderBench bench_render(const std::string& env, int size, int camera, GlBackend backend, int frames, int reps,
                         std::uint64_t seed = 1);
// One line: both rates and their ratio.
std::string render_bench_line(const RenderBench& b);

}  // namespace pbtnas::rl
