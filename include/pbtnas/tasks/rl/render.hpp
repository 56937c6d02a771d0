#pragma once
// Offscreen rendering of an environment's MuJoCo model to small RGB frames (docs/rl.md, "Pixels
// and rendering"). Torch-free. The OpenGL platform is chosen at run time:
//   egl     EGL without a window: the driver's devices (NVIDIA's EGL on GPU nodes, Mesa's software
//           device on CPU nodes), else Mesa's surfaceless platform;
//   osmesa  Mesa's off-screen software renderer;
//   auto    egl, then osmesa.
// The environment variable MUJOCO_GL (egl | osmesa), when set, overrides the configured choice.
// The platform library (libEGL.so.1 or libOSMesa.so.8) is loaded with dlopen when the first
// renderer is made, and only that one: MuJoCo takes its OpenGL functions from the platform
// library it finds loaded in the process. One platform per process.
#include <cstdint>
#include <memory>
#include <string>

#include <mujoco/mujoco.h>

namespace pbtnas::rl {

enum class GlBackend { Auto, Egl, Osmesa };

// "auto" | "egl" | "osmesa"; throws std::invalid_argument naming the value otherwise.
GlBackend parse_gl_backend(const std::string& name);
const char* gl_backend_name(GlBackend backend);

// The platform this process renders with, loading it on the first call (MUJOCO_GL overrides
// `requested`). Throws std::runtime_error naming every platform tried, why it failed and how to
// install it (jobs/setup.sh) when none works.
GlBackend ensure_gl(GlBackend requested);
// "" when ensure_gl(requested) succeeds, else its message (tests skip on it).
std::string gl_unavailable(GlBackend requested = GlBackend::Auto);

// Renders one model's scene from one of its cameras. Owns an OpenGL context and MuJoCo's render
// context; not copyable; use from one thread at a time.
class Renderer {
 public:
  Renderer(const mjModel* model, int width, int height, GlBackend backend = GlBackend::Auto);
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  int width() const { return width_; }
  int height() const { return height_; }
  // Renders `data`'s current state from camera `camera` (an id of the model's cameras) into `out`,
  // 3 x height x width bytes, channel-major (C, H, W), top row first.
  void render(const mjModel* model, mjData* data, int camera, std::uint8_t* out);
  // Makes this renderer's OpenGL context current in the calling thread (render() does it itself;
  // for code that draws with MuJoCo's own calls in this context, e.g. render_bench.hpp).
  void make_current();

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
  int width_, height_;
  mjvScene scene_;
  mjvOption option_;
  mjrContext con_;
  std::unique_ptr<std::uint8_t[]> rgb_;  // H x W x 3, bottom row first (OpenGL's order)
};

}  // namespace pbtnas::rl
