#pragma once
// The seed printed by the test main; tests derive their random inputs from it.
#include <catch2/catch.hpp>
#include <cstdint>

namespace pbtnas::test {
inline std::uint64_t test_seed() { return Catch::rngSeed(); }
}  // namespace pbtnas::test
