#include "pbtnas/util/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace pbtnas {

FileLock::FileLock(const std::string& path, Wait wait) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd_ < 0)
    throw std::runtime_error("cannot create the lock file " + path + ": " + std::strerror(errno) +
                             "; make its folder writable or choose another folder");
  const int op = LOCK_EX | (wait == Wait::Try ? LOCK_NB : 0);
  while (::flock(fd_, op) != 0) {
    const int e = errno;
    if (e == EINTR) continue;
    if (e == EWOULDBLOCK && wait == Wait::Try) {
      why_ = "another process holds " + path;
      return;
    }
    if (e == ENOSYS || e == EOPNOTSUPP || e == ENOLCK) {
      unsupported_ = true;
      why_ = "flock on " + path + ": " + std::strerror(e) + " (the file system does not lock)";
      return;
    }
    const std::string what = std::strerror(e);
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("cannot lock " + path + ": " + what);
  }
  held_ = true;
}

FileLock::~FileLock() {
  if (fd_ < 0) return;
  if (held_) ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

}  // namespace pbtnas
