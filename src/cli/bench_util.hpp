#pragma once
// Small helpers shared by the benchmark commands (bench-exchange, bench-gan, bench-rl).
#include <chrono>
#include <string>

namespace pbtnas::cli {

using Clock = std::chrono::steady_clock;

// Seconds since t.
inline double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// s as one single-quoted shell word.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace pbtnas::cli
