#include "pbtnas/tasks/bench.hpp"

#include <cerrno>
#include <cstdlib>
#include <stdexcept>

namespace pbtnas {

const std::string& BenchRequest::text(const std::string& name) const {
  const auto it = values.find(name);
  if (it == values.end()) throw std::logic_error("benchmark option --" + name + " is not declared by the task");
  return it->second;
}

long long BenchRequest::integer(const std::string& name, long long lo, long long hi) const {
  const std::string& s = text(name);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno == ERANGE || v < lo || v > hi)
    throw std::invalid_argument("--" + name + " must be an integer in [" + std::to_string(lo) + ", " +
                                std::to_string(hi) + "], got '" + s + "'");
  return v;
}

double BenchRequest::number(const std::string& name) const {
  const std::string& s = text(name);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0') throw std::invalid_argument("--" + name + " must be a number, got '" + s + "'");
  return v;
}

bool BenchRequest::on(const std::string& name) const { return text(name) == "true"; }

}  // namespace pbtnas
