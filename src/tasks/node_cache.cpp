#include "pbtnas/tasks/node_cache.hpp"

#include <fcntl.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>

#include "pbtnas/core/hash.hpp"
#include "pbtnas/util/file_lock.hpp"

namespace pbtnas {
namespace fs = std::filesystem;
namespace {

// File layout: 64-byte header, then the tensor's bytes (C order).
//   magic "PBTNAS-SHARED-T1" (16) | dtype (int32, c10::ScalarType) | ndim (int32) |
//   bytes (int64) | up to 4 dims (int64 each)
constexpr char kMagic[16] = {'P', 'B', 'T', 'N', 'A', 'S', '-', 'S', 'H', 'A', 'R', 'E', 'D', '-', 'T', '1'};
constexpr std::size_t kHeader = 64;
constexpr int kMaxDims = 4;

struct Header {
  char magic[16];
  std::int32_t dtype;
  std::int32_t ndim;
  std::int64_t bytes;
  std::int64_t dims[kMaxDims];
};
static_assert(sizeof(Header) == kHeader, "the header is 64 bytes");

// FNV-1a over s and a separator byte, so that "ab"+"c" differs from "a"+"bc".
void add_part(Fnv1a& f, const std::string& s) {
  f.bytes(s);
  f.byte(0xff);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string unwritable(const std::string& path, const std::string& why) {
  return "cannot cache shared data in " + path + " (" + why +
         "); make the folder writable, set XDG_CACHE_HOME, or set the task's cache_dir key to a writable folder";
}

// Maps `path` when it holds a whole, valid file; an undefined tensor otherwise.
torch::Tensor map_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return {};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || st.st_size < static_cast<off_t>(kHeader)) return {};
  Header h{};
  if (::pread(fd.get(), &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h)) return {};
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.ndim < 0 || h.ndim > kMaxDims || h.bytes < 0) return {};
  if (static_cast<std::int64_t>(st.st_size) != static_cast<std::int64_t>(kHeader) + h.bytes) return {};
  const auto dtype = static_cast<c10::ScalarType>(h.dtype);
  std::vector<std::int64_t> sizes(h.dims, h.dims + h.ndim);
  std::int64_t numel = 1;
  for (auto d : sizes) numel *= d;
  if (numel * static_cast<std::int64_t>(c10::elementSize(dtype)) != h.bytes) return {};
  const auto length = static_cast<std::size_t>(st.st_size);
  void* p = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) return {};
  auto* data = static_cast<char*>(p) + kHeader;
  return torch::from_blob(
      data, sizes, [p, length](void*) { ::munmap(p, length); }, torch::TensorOptions().dtype(dtype));
}

void write_file(const std::string& path, const torch::Tensor& t) {
  if (t.dim() > kMaxDims) throw std::logic_error("node_shared_tensor: at most 4 dimensions");
  const torch::Tensor c = t.to(torch::kCPU).contiguous();
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.dtype = static_cast<std::int32_t>(c.scalar_type());
  h.ndim = static_cast<std::int32_t>(c.dim());
  h.bytes = static_cast<std::int64_t>(c.numel() * c.element_size());
  for (int i = 0; i < c.dim(); ++i) h.dims[i] = c.size(i);
  const std::string tmp = temporary_name(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(unwritable(path, "cannot create " + tmp));
    out.write(reinterpret_cast<const char*>(&h), sizeof h);
    out.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(h.bytes));
    out.flush();
    if (!out) throw std::runtime_error(unwritable(path, "writing " + tmp + " failed (disk full?)"));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw std::runtime_error(unwritable(path, "cannot rename the temporary file"));
  }
}

}  // namespace

std::string cache_fingerprint(const std::vector<std::string>& parts, const std::vector<std::string>& files) {
  Fnv1a h;
  for (const auto& p : parts) add_part(h, p);
  for (const auto& f : files) {
    std::error_code ec;
    add_part(h, fs::absolute(f, ec).string());
    const auto size = fs::file_size(f, ec);
    add_part(h, ec ? std::string("?") : std::to_string(size));
    const auto time = fs::last_write_time(f, ec);
    add_part(h, ec ? std::string("?") : std::to_string(time.time_since_epoch().count()));
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h.h));
  return buf;
}

torch::Tensor node_shared_tensor(const std::string& dir, const std::string& name,
                                 const std::function<torch::Tensor()>& compute) {
  const std::string path = (fs::path(dir) / name).string();
  if (torch::Tensor t = map_file(path); t.defined()) return t;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(unwritable(path, "cannot create the folder: " + ec.message()));
  std::optional<FileLock> lock;
  try {
    lock.emplace(path + ".lock");
  } catch (const std::exception& e) {
    throw std::runtime_error(unwritable(path, e.what()));
  }
  if (lock->unsupported())
    std::cerr << "pbtnas: " << lock->why() << "; computing " << path
              << " without the lock (each process that finds no file writes its own temporary and renames it)"
              << std::endl;
  // Another rank may have written it while this one waited for the lock.
  if (torch::Tensor t = map_file(path); t.defined()) return t;
  write_file(path, compute());
  torch::Tensor t = map_file(path);
  if (!t.defined()) throw std::runtime_error(unwritable(path, "the file just written cannot be mapped back"));
  return t;  // the lock is released when `lock` closes
}

void release_free_heap() {
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
}

}  // namespace pbtnas
