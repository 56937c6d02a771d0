#include "pbtnas/nn/tensor_seed.hpp"

#include <ATen/CPUGeneratorImpl.h>

namespace pbtnas {
namespace {

std::uint64_t splitmix(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char ch : s) h = (h ^ ch) * 0x100000001b3ULL;
  return h;
}

}  // namespace

at::Generator tensor_generator(std::uint64_t seed, const std::string& name) {
  return at::make_generator<at::CPUGeneratorImpl>(splitmix(splitmix(seed) ^ fnv1a(name)));
}

std::string join_name(const std::string& prefix, const std::string& leaf) {
  return prefix.empty() ? leaf : prefix + "." + leaf;
}

}  // namespace pbtnas
