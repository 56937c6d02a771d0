#include "pbtnas/core/log.hpp"

namespace pbtnas {

void Logger::info(const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  out_ << line << std::endl;
}

void Logger::warn(const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  err_ << "[rank " << rank_ << "] " << line << std::endl;
}

}  // namespace pbtnas
