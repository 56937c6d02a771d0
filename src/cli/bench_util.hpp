#pragma once
// Small helpers shared by the benchmark commands (bench-exchange, bench-gan, bench-rl).
#include <string>

#include "pbtnas/util/clock.hpp"  // Clock and since(t), the timers of the benchmarks

namespace pbtnas::cli {

// s as one single-quoted shell word.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace pbtnas::cli
