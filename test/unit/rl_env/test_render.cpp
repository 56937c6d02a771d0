// Offscreen rendering of the environments (docs/rl.md, "Pixels and rendering"): every environment
// renders a non-uniform 84x84 frame from its pixel camera, two environments with the same seed
// render identical frames step by step, and different states render different frames. Skips where
// no OpenGL platform can be created.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "pbtnas/tasks/rl/env.hpp"
#include "support/skip.hpp"

using namespace pbtnas;
using namespace pbtnas::rl;

namespace {
constexpr int kSize = 84;
std::vector<std::uint8_t> frame(Env& env, int camera) {
  std::vector<std::uint8_t> f(3 * kSize * kSize);
  env.render(kSize, camera, GlBackend::Auto, f.data());
  return f;
}
}  // namespace

TEST_CASE("rl: every environment renders its pixel camera, identically for the same seed", "[rl][render]") {
  const std::string why = gl_unavailable();
  if (!why.empty()) PBTNAS_SKIP("no OpenGL platform for offscreen rendering: " << why);
  for (const auto& entry : env_registry()) {
    INFO(entry.name);
    auto a = entry.make(7), b = entry.make(7);
    REQUIRE(entry.pixel_camera < a->physics().model()->ncam);
    a->reset();
    b->reset();
    std::vector<float> action(static_cast<std::size_t>(a->action_dim()));
    Rng rng(3);
    std::vector<std::uint8_t> first;
    for (int t = 0; t < 6; ++t) {
      const auto fa = frame(*a, entry.pixel_camera), fb = frame(*b, entry.pixel_camera);
      REQUIRE(fa == fb);
      if (t == 0) {
        first = fa;
        int lo = 255, hi = 0;
        for (auto v : fa) {
          lo = std::min<int>(lo, v);
          hi = std::max<int>(hi, v);
        }
        CHECK(hi - lo > 40);  // not a blank image
      }
      for (auto& v : action) v = static_cast<float>(2 * rng.uniform() - 1);
      for (int k = 0; k < 10; ++k) {
        a->step(action.data());
        b->step(action.data());
      }
    }
    CHECK(frame(*a, entry.pixel_camera) != first);  // the state moved, so did the picture
  }
}

TEST_CASE("rl: rendering platform names and the camera check", "[rl][render]") {
  CHECK(parse_gl_backend("egl") == GlBackend::Egl);
  CHECK(parse_gl_backend("osmesa") == GlBackend::Osmesa);
  CHECK(parse_gl_backend("auto") == GlBackend::Auto);
  CHECK_THROWS_WITH(parse_gl_backend("glx"), Catch::Contains("auto, egl or osmesa"));
  const std::string why = gl_unavailable();
  if (!why.empty()) PBTNAS_SKIP("no OpenGL platform for offscreen rendering: " << why);
  auto env = make_env("cartpole_swingup", 1);
  env->reset();
  std::vector<std::uint8_t> f(3 * kSize * kSize);
  CHECK_THROWS_WITH(env->render(kSize, 9, GlBackend::Auto, f.data()), Catch::Contains("not one of the model's"));
}
