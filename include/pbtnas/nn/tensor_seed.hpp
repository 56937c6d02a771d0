#pragma once
// Per-tensor random generators for network initialisation: the generator of a tensor depends
// only on (seed, its dotted name), so a layer's initial values do not depend on the rest of the
// architecture and the global torch RNG is never used.
#include <cstdint>
#include <string>

#include <ATen/core/Generator.h>

namespace pbtnas {

// A CPU generator seeded with splitmix(splitmix(seed) ^ fnv1a(name)).
at::Generator tensor_generator(std::uint64_t seed, const std::string& name);

// "prefix.leaf", or "leaf" for an empty prefix.
std::string join_name(const std::string& prefix, const std::string& leaf);

}  // namespace pbtnas
