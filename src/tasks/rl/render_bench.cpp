#include "pbtnas/tasks/rl/render_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "pbtnas/tasks/rl/env.hpp"

namespace pbtnas::rl {
namespace {

template <class F>
double best_rate(int frames, int reps, F&& frame) {
  for (int i = 0; i < 10; ++i) frame();  // warm-up: context, shaders, textures
  double best = 0.0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < frames; ++i) frame();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, frames / std::max(s, 1e-9));
  }
  return best;
}

// MuJoCo's own offscreen loop in `host`'s OpenGL context: what the pixel path costs at least.
double plain_loop(Env& env, Renderer& host, int size, int camera, int frames, int reps) {
  const mjModel* m = env.physics().model();
  mjData* d = env.physics().data();
  host.make_current();
  mjvScene scene;
  mjvOption option;
  mjrContext con;
  mjvCamera cam;
  mjv_defaultScene(&scene);
  mjv_defaultOption(&option);
  mjr_defaultContext(&con);
  mjv_defaultCamera(&cam);
  cam.type = mjCAMERA_FIXED;
  cam.fixedcamid = camera;
  mjv_makeScene(m, &scene, 1000);
  mjr_makeContext(m, &con, mjFONTSCALE_100);
  mjr_setBuffer(mjFB_OFFSCREEN, &con);
  std::vector<unsigned char> rgb(static_cast<std::size_t>(size) * size * 3);
  const mjrRect viewport{0, 0, size, size};
  const double fps = best_rate(frames, reps, [&] {
    mjv_updateScene(m, d, &option, nullptr, &cam, mjCAT_ALL, &scene);
    mjr_render(viewport, &scene, &con);
    mjr_readPixels(rgb.data(), nullptr, viewport, &con);
  });
  mjr_freeContext(&con);
  mjv_freeScene(&scene);
  return fps;
}

}  // namespace

RenderBench bench_render(const std::string& name, int size, int camera, GlBackend backend, int frames, int reps,
                         std::uint64_t seed) {
  RenderBench b;
  b.env = name;
  b.size = size;
  b.camera = camera;
  b.frames = frames;
  b.reps = reps;
  b.backend = ensure_gl(backend);
  auto env = make_env(name, seed);
  env->reset();
  std::vector<std::uint8_t> frame(static_cast<std::size_t>(3) * size * size);
  b.ours_fps = best_rate(frames, reps, [&] { env->render(size, camera, b.backend, frame.data()); });
  Renderer host(env->physics().model(), size, size, b.backend);  // a context of its own
  b.plain_fps = plain_loop(*env, host, size, camera, frames, reps);
  return b;
}

std::string render_bench_line(const RenderBench& b) {
  char line[512];
  std::snprintf(line, sizeof line,
                "  render %s %dx%d camera %d (%s): Env::render %.0f frames/s, plain MuJoCo loop (mjv_updateScene + "
                "mjr_render + mjr_readPixels) %.0f frames/s; ratio %.2f (best of %d x %d frames, the state after a "
                "reset)",
                b.env.c_str(), b.size, b.size, b.camera, gl_backend_name(b.backend), b.ours_fps, b.plain_fps,
                b.ours_fps / std::max(b.plain_fps, 1e-9), b.reps, b.frames);
  return line;
}

}  // namespace pbtnas::rl
