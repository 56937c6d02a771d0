#pragma once
// Test data for the own-data formats of the classification task: a small learnable RGB data set,
// and the check that a call fails with a message naming given parts.
#include <catch2/catch.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "pbtnas/core/seed.hpp"

namespace pbtnas::test {

// Expects `f` to throw std::runtime_error whose message contains every string in `parts`.
template <typename Fn>
inline void require_error(Fn f, const std::vector<std::string>& parts) {
  try {
    f();
    FAIL("expected std::runtime_error");
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    INFO(msg);
    for (const auto& p : parts) CHECK(msg.find(p) != std::string::npos);
  }
}

// A learnable RGB data set: class k's images are bright in channel k % 3, with a little noise.
struct SyntheticImages {
  std::vector<std::uint8_t> nhwc;  // N x H x W x 3
  std::vector<std::int64_t> labels;
};
inline SyntheticImages synthetic_images(int n, int h, int w, int classes, std::uint64_t seed) {
  SyntheticImages s;
  Rng rng(seed);
  for (int i = 0; i < n; ++i) {
    const int k = i % classes;
    s.labels.push_back(k);
    for (int p = 0; p < h * w; ++p)
      for (int c = 0; c < 3; ++c)
        s.nhwc.push_back(
            static_cast<std::uint8_t>((c == k % 3 ? 160 + 20 * (k / 3) : 40) + static_cast<int>(rng.below(31))));
  }
  return s;
}

}  // namespace pbtnas::test
