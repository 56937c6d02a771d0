// Process-wide helpers of the command line: the crash handler, subcommand hints,
// and where the benchmarks find their Python mirror scripts.
#include <execinfo.h>
#include <unistd.h>

#include <climits>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "cli/commands.hpp"
#include "pbtnas/core/config_section.hpp"

namespace pbtnas::cli {
namespace {

// On a crash, print the signal and a raw backtrace to stderr before dying (async-signal-safe
// calls only), so that a failure on a cluster node leaves something to act on.
void on_fatal_signal(int sig) {
  const char* head = "pbtnas: fatal signal ";
  (void)!write(STDERR_FILENO, head, std::strlen(head));
  const char* name = strsignal(sig);
  (void)!write(STDERR_FILENO, name, std::strlen(name));
  (void)!write(STDERR_FILENO, "; backtrace:\n", 13);
  void* frames[64];
  const int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

void install_crash_handler() {
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, on_fatal_signal);
}

std::string closest_subcommand(const std::string& word, const std::vector<std::string>& names) {
  return closest_key(word, names);
}

std::string find_script(const std::string& script) {
  namespace fs = std::filesystem;
  if (script.empty() || fs::path(script).is_absolute() || fs::exists(script)) return script;
  // Relative to the executable: build/pbtnas (the repository one folder up) or
  // PREFIX/bin/pbtnas (PREFIX/share/pbtnas/SCRIPT).
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return script;
  self[n] = '\0';
  const fs::path bin = fs::path(self).parent_path();
  for (const fs::path& root : {bin.parent_path(), bin.parent_path() / "share" / "pbtnas", bin}) {
    const fs::path candidate = root / script;
    if (fs::exists(candidate)) return candidate.string();
  }
  return script;
}

std::string writable_file_problem(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return "is a folder; name a file";
  fs::path folder = fs::absolute(fs::path(path), ec).parent_path();
  if (!fs::is_directory(folder, ec)) return "its folder " + folder.string() + " does not exist; create it first";
  if (access(folder.c_str(), W_OK) != 0) return "its folder " + folder.string() + " is not writable";
  if (fs::exists(path, ec) && access(path.c_str(), W_OK) != 0) return "the file is not writable";
  return "";
}

}  // namespace pbtnas::cli
