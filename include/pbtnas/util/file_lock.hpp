#pragma once
// An exclusive advisory lock on a file, for work that one process of many should do (a cache
// computed once for a node or a whole job). Torch-free: used by the tasks' caches and the studies.
//
// Cluster file systems do not all lock: Lustre mounted without `-o flock` and some NFS setups
// answer flock with ENOSYS, EOPNOTSUPP or ENOLCK. There the lock is not held (held() is false,
// unsupported() is true, why() says so) and the caller must fall back to work that is safe without
// it: compute, write a temporary of its own (temporary_name) and rename it into place; equal
// inputs give equal files, so the last rename wins harmlessly. Never an error.
#include <string>

namespace pbtnas {

class FileLock {
 public:
  enum class Wait { Block, Try };
  // Opens (creating, mode 0666 under the umask) `path` and takes an exclusive flock on it,
  // waiting for it (Wait::Block) or not (Wait::Try: held() is false when another process holds
  // it). Throws std::runtime_error naming the file when it cannot be created or flock fails for
  // another reason than the file system's lack of support.
  explicit FileLock(const std::string& path, Wait wait = Wait::Block);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  bool held() const { return held_; }
  bool unsupported() const { return unsupported_; }
  // Why the lock is not held: "" when held; e.g. "flock on X: Function not implemented".
  const std::string& why() const { return why_; }

 private:
  int fd_ = -1;
  bool held_ = false;
  bool unsupported_ = false;
  std::string why_;
};

}  // namespace pbtnas
