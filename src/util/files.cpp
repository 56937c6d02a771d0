#include "pbtnas/util/files.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace pbtnas {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string errno_text(int err) { return err ? std::strerror(err) : "unknown error"; }

// fsync of a file or folder; a folder's EINVAL / ENOTSUP (file systems that cannot sync folders)
// is ignored: the rename is atomic all the same. Returns "" or the error.
std::string sync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return "cannot open " + path + " to sync it: " + errno_text(errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && !(directory && (err == EINVAL || err == ENOTSUP)))
    return "cannot sync " + path + " to disk: " + errno_text(err);
  return "";
}

// Writes all of `text` to a new file `path`; "" or the error.
std::string write_all(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) return "cannot write " + path + ": " + errno_text(errno);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = n < 0 ? errno_text(errno) : "no progress";
      ::close(fd);
      return "cannot write " + path + ": " + why;
    }
    done += static_cast<std::size_t>(n);
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  if (::close(fd) != 0 && rc == 0) return "cannot write " + path + ": " + errno_text(errno);
  if (rc != 0) return "cannot sync " + path + " to disk: " + errno_text(err);
  return "";
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
  return path + ".tmp." + (host.empty() ? "host" : host) + "." + std::to_string(::getpid()) + "." +
         std::to_string(static_cast<long>(::syscall(SYS_gettid)));
}

void write_text_file_atomic(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (!fs::is_directory(parent, ec))
      throw std::runtime_error("cannot create directory " + parent.string() + " for " + path);
  }
  const std::string tmp = temporary_name(path);
  std::string why = write_all(tmp, text);
  if (why.empty() && std::rename(tmp.c_str(), path.c_str()) != 0)
    why = "cannot rename " + tmp + " to " + path + ": " + errno_text(errno);
  if (!why.empty()) {
    std::remove(tmp.c_str());
    throw std::runtime_error(why);
  }
  if (std::string dir_why = sync_path(parent.empty() ? "." : parent.string(), true); !dir_why.empty())
    throw std::runtime_error(dir_why);
}

}  // namespace pbtnas
