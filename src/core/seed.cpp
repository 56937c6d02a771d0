#include "pbtnas/core/seed.hpp"

#include <cmath>
#include <stdexcept>

#include "pbtnas/core/hash.hpp"

namespace pbtnas {
namespace {

// splitmix64 as a generator: returns the next value and advances `state`.
std::uint64_t splitmix64_next(std::uint64_t& state) {
  const std::uint64_t z = splitmix64(state);
  state += kGoldenGamma;
  return z;
}

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  std::uint64_t s = h ^ (v + 0x632BE59BD9B4E019ULL + (h << 6) + (h >> 2));
  return splitmix64_next(s);
}

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

std::uint64_t derive_seed(std::uint64_t run_seed, std::int64_t generation, std::int64_t member,
                          Purpose purpose) {
  std::uint64_t h = mix(0x5042542D4E4153ULL, run_seed);  // "PBT-NAS"
  h = mix(h, static_cast<std::uint64_t>(generation));
  h = mix(h, static_cast<std::uint64_t>(member));
  h = mix(h, static_cast<std::uint64_t>(purpose));
  return h;
}

Rng::Rng(std::uint64_t seed) {
  std::uint64_t s = seed;
  for (auto& word : s_) word = splitmix64_next(s);
}

std::uint64_t Rng::next() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

std::uint64_t Rng::below(std::uint64_t n) {
  if (n == 0) throw std::invalid_argument("Rng::below: n must be > 0");
  // Lemire-style rejection on the top bits: unbiased for every n.
  const std::uint64_t limit = (~std::uint64_t{0}) - ((~std::uint64_t{0}) % n);
  std::uint64_t x;
  do x = next();
  while (x >= limit);
  return x % n;
}

double Rng::normal() {
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace pbtnas
