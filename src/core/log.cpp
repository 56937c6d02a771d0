#include "pbtnas/core/log.hpp"

namespace pbtnas {

namespace {
constexpr const char* kClearLine = "\r\033[K";  // carriage return, erase to the end of the line
}  // namespace

void Logger::info(const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  if (status_shown_) out_ << kClearLine;
  status_shown_ = false;
  out_ << line << std::endl;
}

void Logger::status(const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!redraw_) {
    out_ << line << std::endl;
    return;
  }
  out_ << kClearLine << line << std::flush;
  status_shown_ = true;
}

void Logger::warn(const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  if (status_shown_) out_ << kClearLine << std::flush;
  status_shown_ = false;
  err_ << "[rank " << rank_ << "] " << line << std::endl;
}

}  // namespace pbtnas
