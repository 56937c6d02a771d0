#pragma once
// Small helpers shared by the benchmark commands (bench-exchange, bench-gan, bench-rl).
#include <cstdio>
#include <stdexcept>
#include <string>

#include "pbtnas/util/clock.hpp"  // Clock and since(t), the timers of the benchmarks

namespace pbtnas::cli {

// s as one single-quoted shell word.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `command` through the shell and returns what it printed on stdout. Throws
// std::runtime_error when it cannot be started or exits with another status than 0
// ("WHAT failed (status N): COMMAND").
inline std::string capture(const std::string& command, const std::string& what) {
  FILE* p = popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run: " + command);
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  if (status != 0)
    throw std::runtime_error(what + " failed (status " + std::to_string(status) + "): " + command);
  return out;
}

}  // namespace pbtnas::cli
