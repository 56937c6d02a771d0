#pragma once
// The two small hash functions the project uses, in one place: the splitmix64 mixer (seed
// streams) and 64-bit FNV-1a (cache keys and fingerprints). Both are bit-exact with their
// published definitions, so derived seeds and cache file names do not change between builds.
#include <cstdint>
#include <string_view>

namespace pbtnas {

inline constexpr std::uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ULL;  // splitmix64's increment

// splitmix64's output function (Steele, Lea and Flood 2014; constants of Stafford's "Mix13").
constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// The value splitmix64 returns from state x (the state then advances by kGoldenGamma).
constexpr std::uint64_t splitmix64(std::uint64_t x) { return mix64(x + kGoldenGamma); }

// 64-bit FNV-1a, byte by byte.
struct Fnv1a {
  static constexpr std::uint64_t kOffset = 0xcbf29ce484222325ULL;
  static constexpr std::uint64_t kPrime = 0x100000001b3ULL;
  std::uint64_t h = kOffset;

  void byte(std::uint8_t b) { h = (h ^ b) * kPrime; }
  void bytes(std::string_view s) {
    for (unsigned char c : s) byte(c);
  }
  void u64(std::uint64_t v) {  // little-endian, whatever the host
    for (int i = 0; i < 8; ++i) byte(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
};

inline std::uint64_t fnv1a(std::string_view s) {
  Fnv1a f;
  f.bytes(s);
  return f.h;
}

}  // namespace pbtnas
