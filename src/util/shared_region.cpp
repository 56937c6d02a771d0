#include "pbtnas/util/shared_region.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace pbtnas {
namespace {

std::string why(const std::string& what, const std::string& path) {
  return "shared memory: " + what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

SharedRegion::SharedRegion(std::string path, unsigned char* data, std::size_t bytes, bool writable)
    : path_(std::move(path)), data_(data), bytes_(bytes), writable_(writable), linked_(writable) {}

std::shared_ptr<SharedRegion> SharedRegion::create(const std::string& path, std::size_t bytes) {
  if (bytes == 0) throw std::invalid_argument("shared memory: a region of 0 bytes");
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error(why("cannot create", path));
  // posix_fallocate would reserve every page now; a sparse file costs memory only as it fills.
  if (::ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    const std::string w = why("cannot size (" + std::to_string(bytes) + " bytes)", path);
    ::close(fd);
    ::unlink(path.c_str());
    throw std::runtime_error(w);
  }
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const std::string w = p == MAP_FAILED ? why("cannot map", path) : "";
  ::close(fd);
  if (p == MAP_FAILED) {
    ::unlink(path.c_str());
    throw std::runtime_error(w);
  }
  return std::shared_ptr<SharedRegion>(new SharedRegion(path, static_cast<unsigned char*>(p), bytes, true));
}

std::shared_ptr<SharedRegion> SharedRegion::open(const std::string& path, std::size_t bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(why("cannot open", path));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) != bytes) {
    ::close(fd);
    throw std::runtime_error("shared memory: " + path + " holds " + std::to_string(st.st_size) + " bytes, expected " +
                             std::to_string(bytes) + " (another run's file?)");
  }
  void* p = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
  const std::string w = p == MAP_FAILED ? why("cannot map", path) : "";
  ::close(fd);
  if (p == MAP_FAILED) throw std::runtime_error(w);
  return std::shared_ptr<SharedRegion>(new SharedRegion(path, static_cast<unsigned char*>(p), bytes, false));
}

void SharedRegion::unlink() {
  if (!linked_) return;
  ::unlink(path_.c_str());
  linked_ = false;
}

SharedRegion::~SharedRegion() {
  unlink();
  if (data_ != nullptr) ::munmap(data_, bytes_);
}

int remove_stale_regions(const std::string& dir, const std::string& prefix) {
  namespace fs = std::filesystem;
  std::error_code ec;
  int n = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) == 0 && fs::remove(it->path(), ec)) ++n;
  }
  return n;
}

}  // namespace pbtnas
