#include "pbtnas/core/resources.hpp"

#include <fstream>
#include <sstream>
#include <string>

namespace pbtnas {

namespace {
// The first "KEY: N kB" line of a /proc file, in bytes; 0 when absent.
std::int64_t proc_kib_field(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    std::istringstream fields(line.substr(key.size()));
    std::int64_t kib = 0;
    fields >> kib;
    return kib * 1024;
  }
  return 0;
}
}  // namespace

std::int64_t peak_resident_bytes() { return proc_kib_field("/proc/self/status", "VmHWM:"); }

std::int64_t proportional_resident_bytes() { return proc_kib_field("/proc/self/smaps_rollup", "Pss:"); }

}  // namespace pbtnas
