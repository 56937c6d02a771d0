#include "pbtnas/util/files.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace pbtnas {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

std::string default_cache_dir(const std::string& config_key) {
  if (const std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty()) return xdg + "/pbtnas";
  if (const std::string home = env("HOME"); !home.empty()) return home + "/.cache/pbtnas";
  throw std::invalid_argument("neither XDG_CACHE_HOME nor HOME is set; set " + config_key +
                              " to a writable folder for pbtnas's caches");
}

std::string node_scratch_dir(const std::string& config_key) {
  for (const char* var : {"SLURM_TMPDIR", "TMPDIR"})
    if (const std::string dir = env(var); !dir.empty()) return dir + "/pbtnas";
  if (::access("/dev/shm", W_OK | X_OK) == 0) return "/dev/shm/pbtnas";
  return default_cache_dir(config_key);
}

std::string temporary_name(const std::string& path) {
  char buf[256] = {};
  std::string host = ::gethostname(buf, sizeof buf - 1) == 0 ? buf : "";
  for (char& c : host)
    if (c == '/') c = '_';
  static std::atomic<unsigned long> calls{0};
  return path + ".tmp." + (host.empty() ? "host" : host) + "." + std::to_string(::getpid()) + "." +
         std::to_string(calls++);
}

}  // namespace pbtnas
