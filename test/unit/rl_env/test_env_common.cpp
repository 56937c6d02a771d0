// The environment machinery shared by every task: tolerance() and the registry.
#include <catch2/catch.hpp>

#include <cmath>

#include "pbtnas/tasks/rl/env.hpp"

using namespace pbtnas::rl;

TEST_CASE("tolerance is 1 inside the bounds and value_at_margin one margin away", "[rl][env]") {
  CHECK(tolerance(0.5, 0.0, 1.0) == 1.0);
  CHECK(tolerance(2.0, 0.0, 1.0) == 0.0);  // margin 0: zero outside
  for (auto s : {Sigmoid::Gaussian, Sigmoid::Linear, Sigmoid::Quadratic}) {
    const double v = s == Sigmoid::Quadratic ? 0.0 : 0.1;
    CHECK(tolerance(-2.0, 0.0, 0.0, 2.0, s, v) == Approx(v).margin(1e-12));
    CHECK(tolerance(1.0, 0.0, 0.0, 2.0, s, v) < 1.0);
    CHECK(tolerance(1.0, 0.0, 0.0, 2.0, s, v) > v);
  }
  // gaussian with value 0.1 at d = 0.5: exp(-0.5 * 0.25 * (-2 ln 0.1)) = 0.1^0.25
  CHECK(tolerance(1.0, 0.0, 0.0, 2.0, Sigmoid::Gaussian, 0.1) == Approx(std::pow(0.1, 0.25)));
  // linear: 1 - d (1 - v), zero beyond the point where it reaches 0
  CHECK(tolerance(1.0, 0.0, 0.0, 2.0, Sigmoid::Linear, 0.5) == Approx(0.75));
  CHECK(tolerance(10.0, 0.0, 0.0, 2.0, Sigmoid::Linear, 0.5) == 0.0);
  // quadratic with v = 0: 1 - d^2 inside the margin, 0 beyond it
  CHECK(tolerance(0.5, 0.0, 0.0, 1.0, Sigmoid::Quadratic, 0.0) == Approx(0.75));
  CHECK(tolerance(1.5, 0.0, 0.0, 1.0, Sigmoid::Quadratic, 0.0) == 0.0);
}

TEST_CASE("an unknown environment name is refused with the valid names listed", "[rl][env]") {
  try {
    make_env("pendulum_swingup", 1);
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("pendulum_swingup") != std::string::npos);
    CHECK(std::string(e.what()).find("valid environments") != std::string::npos);
  }
}

TEST_CASE("an MJCF text that does not compile is refused with MuJoCo's message", "[rl][env]") {
  CHECK_THROWS_WITH(Physics("<mujoco><worldbody><body></mujoco>", "broken"),
                    Catch::Contains("does not compile"));
}
