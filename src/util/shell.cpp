#include "pbtnas/util/shell.hpp"

#include <cstdio>
#include <stdexcept>

namespace pbtnas {

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string capture(const std::string& command, const std::string& what) {
  FILE* p = popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run: " + command);
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  if (status != 0) throw std::runtime_error(what + " failed (status " + std::to_string(status) + "): " + command);
  return out;
}

}  // namespace pbtnas
