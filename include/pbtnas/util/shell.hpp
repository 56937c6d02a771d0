#pragma once
// Running a helper program through the shell (the benchmarks' Python mirrors, mujoco-testspeed).
#include <string>

namespace pbtnas {

// s as one single-quoted shell word.
std::string shell_quote(const std::string& s);

// Runs `command` through the shell and returns what it printed on stdout. Throws
// std::runtime_error when it cannot be started or exits with another status than 0
// ("WHAT failed (status N): COMMAND").
std::string capture(const std::string& command, const std::string& what);

}  // namespace pbtnas
