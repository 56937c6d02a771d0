#include "pbtnas/nn/tensor_seed.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include "pbtnas/core/hash.hpp"

namespace pbtnas {
at::Generator tensor_generator(std::uint64_t seed, const std::string& name) {
  return at::make_generator<at::CPUGeneratorImpl>(splitmix64(splitmix64(seed) ^ fnv1a(name)));
}

std::string join_name(const std::string& prefix, const std::string& leaf) {
  return prefix.empty() ? leaf : prefix + "." + leaf;
}

}  // namespace pbtnas
