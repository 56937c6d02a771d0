#include "pbtnas/index/file_util.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>

namespace fs = std::filesystem;

namespace pbtnas::io::detail {
namespace {

std::string errno_text() { return std::strerror(errno); }

void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) throw h5::Failure("cannot open " + path + " to sync it: " + errno_text());
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  // Some file systems do not support fsync on directories (EINVAL); the rename is still atomic.
  if (rc != 0 && !(directory && (err == EINVAL || err == ENOTSUP)))
    throw h5::Failure("cannot sync " + path + " to disk: " + std::strerror(err));
}

}  // namespace

void ensure_parent_dir(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (!fs::is_directory(parent))
    throw h5::Failure("cannot create directory " + parent.string() +
                      (ec ? ": " + ec.message() : std::string()));
}

void fsync_dir(const fs::path& dir) { fsync_path(dir.empty() ? "." : dir.string(), true); }

void publish(const std::string& tmp, const std::string& path, bool sync, bool tmp_synced) {
  if (sync && !tmp_synced) fsync_path(tmp, false);
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw h5::Failure("cannot rename " + tmp + " to " + path + ": " + errno_text());
  if (sync) fsync_dir(fs::path(path).parent_path());
}

void write_file_bytes(const std::string& path, const std::vector<char>& image, bool sync) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);  // umask applies, as for HDF5's own files
  if (fd < 0) throw h5::Failure("cannot create " + path + ": " + errno_text());
  std::size_t done = 0;
  while (done < image.size()) {
    const ssize_t n = ::write(fd, image.data() + done, image.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = n < 0 ? errno_text() : "no progress";
      ::close(fd);
      throw h5::Failure("cannot write " + path + ": " + why);
    }
    done += static_cast<std::size_t>(n);
  }
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
  // Deferred: start writing the data back now without waiting, so that the caller's fsync
  // (sync_files, after the other files are written) finds it already on its way to disk. Only a
  // hint: its errors are reported by that fsync.
  if (!sync) (void)::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
  if (sync && ::fsync(fd) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    throw h5::Failure("cannot sync " + path + " to disk: " + why);
  }
  if (::close(fd) != 0) throw h5::Failure("cannot finish writing " + path + ": " + errno_text());
}

void sync_files(const std::vector<std::string>& paths) {
  std::set<fs::path> dirs;
  for (const auto& p : paths) {
    fsync_path(p, false);
    dirs.insert(fs::path(p).parent_path());
  }
  for (const auto& d : dirs) fsync_dir(d);
}

namespace {
const char kHdf5Signature[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
const char kMagic[] = "pbtnas-checkpoint ";
}  // namespace

std::string damaged_file_advice(const std::string& path) {
  const fs::path p(path);
  const std::string dir = p.parent_path().filename().string(), name = p.filename().string();
  if (dir.rfind("gen_", 0) == 0)
    return "; restore the file, or delete its generation directory to resume from the previous generation";
  if (name == "best_ever.h5")
    return "; restore the file, or delete it and run the search command again: its resume copies the best-ever "
           "member again from its generation directory if checkpoint.keep still holds it (pbtnas inspect on the "
           "newest index.h5 names that generation), else the run ends without a best-ever evaluation";
  if (name == "soup.h5") return "; restore the file, or make it again with pbtnas soup OUT";
  return "; restore the file";
}

namespace {
void format_header(char (&block)[kUserBlock], std::uint32_t crc, std::uint64_t bytes) {
  std::memset(block, 0, sizeof block);
  std::snprintf(block, sizeof block, "%scrc32=0x%08x bytes=%llu\n", kMagic,
                static_cast<unsigned>(crc), static_cast<unsigned long long>(bytes));
}

// Fills `block` with the header for a body of `body_bytes` bytes with CRC-32 `body_crc`; returns
// the digest of the whole file (header, then body) without reading the body again.
FileDigest stamp_block(char (&block)[kUserBlock], std::uint32_t body_crc, std::uint64_t body_bytes) {
  format_header(block, body_crc, body_bytes + kUserBlock);
  const uLong head = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(block), kUserBlock);
  FileDigest whole;
  whole.bytes = body_bytes + kUserBlock;
  whole.crc32 = static_cast<std::uint32_t>(crc32_combine(head, body_crc, static_cast<z_off_t>(body_bytes)));
  return whole;
}
}  // namespace

FileDigest stamp_checksum(const std::string& path) {
  const FileDigest body = digest_file(path, kUserBlock);
  char block[kUserBlock];
  const FileDigest whole = stamp_block(block, body.crc32, body.bytes);
  int fd = ::open(path.c_str(), O_WRONLY);
  if (fd < 0) throw h5::Failure("cannot open " + path + " to stamp it: " + errno_text());
  ssize_t n = ::pwrite(fd, block, sizeof block, 0);
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(sizeof block))
    throw h5::Failure("cannot write the checksum header of " + path + ": " + std::strerror(err));
  return whole;
}

FileDigest stamp_image(std::vector<char>& image) {
  if (image.size() < kUserBlock) throw h5::Failure("the file image is shorter than its user block");
  const std::size_t rest = image.size() - kUserBlock;
  const uLong body = crc32_z(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(image.data() + kUserBlock), rest);
  char block[kUserBlock];
  const FileDigest whole = stamp_block(block, static_cast<std::uint32_t>(body), rest);
  std::memcpy(image.data(), block, kUserBlock);
  return whole;
}

void check_embedded_checksum(const std::string& path) {
  char buf[kUserBlock + 8] = {0};
  std::ifstream in(path, std::ios::binary);
  in.read(buf, sizeof buf);
  const std::size_t n = static_cast<std::size_t>(in.gcount());
  if (n >= 8 && std::memcmp(buf, kHdf5Signature, 8) == 0) return;  // no user block: unchecked
  const bool hdf5_after_block =
      n == sizeof buf && std::memcmp(buf + kUserBlock, kHdf5Signature, 8) == 0;
  if (std::memcmp(buf, kMagic, sizeof kMagic - 1) != 0) {
    if (hdf5_after_block)
      throw CheckpointError(path +
                            " has a damaged checksum header (or is not a pbtnas "
                            "checkpoint)" +
                            damaged_file_advice(path));
    return;  // not HDF5 at all: reported by the caller
  }
  unsigned crc = 0;
  unsigned long long bytes = 0;
  char expected[kUserBlock];
  const bool parsed =
      std::sscanf(buf + sizeof kMagic - 1, "crc32=0x%8x bytes=%llu", &crc, &bytes) == 2;
  if (parsed) format_header(expected, crc, bytes);
  if (!parsed || (n >= kUserBlock && std::memcmp(buf, expected, kUserBlock) != 0))
    throw CheckpointError(path + " has a damaged checksum header" + damaged_file_advice(path));
  std::error_code ec;
  const std::uint64_t size = fs::file_size(path, ec);
  if (ec || size != bytes)
    throw CheckpointError(path + " is truncated or corrupted (size " + std::to_string(size) +
                          ", expected " + std::to_string(bytes) + " per its header)" + damaged_file_advice(path));
  const FileDigest d = digest_file(path, kUserBlock);
  if (d.crc32 != crc) {
    char what[96];
    std::snprintf(what, sizeof what,
                  " is corrupted (CRC-32 0x%08x, expected 0x%08x per its header)",
                  static_cast<unsigned>(d.crc32), crc);
    throw CheckpointError(path + what + damaged_file_advice(path));
  }
}

h5::Handle open_checkpoint(const std::string& path, const std::string& expected,
                           std::string* format, bool check_crc) {
  h5::silence_errors();
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw CheckpointError(path +
                          " does not exist; check the path (checkpoints live in "
                          "OUT/checkpoints/gen_NNNNNN/)");
  if (!fs::is_regular_file(path, ec))
    throw CheckpointError(path + " is not a regular file; pass a member_NNN.h5 or index.h5 file");
  if (check_crc) check_embedded_checksum(path);
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw CheckpointError(path +
                          " is not a pbtnas checkpoint (not an HDF5 file: no HDF5 "
                          "signature); pass a member_NNN.h5 or index.h5 file");
  h5::Handle file;
  try {
    file = h5::open_file_read(path);
  } catch (const h5::Failure& e) {
    throw CheckpointError(path + " is truncated or corrupted (" + std::string(e.what()) + ")" +
                          damaged_file_advice(path));
  }
  std::string fmt;
  std::int64_t version = 0;
  try {
    if (!h5::has_attr(file, "format"))
      throw CheckpointError(path +
                            " is not a pbtnas checkpoint (no 'format' attribute); pass a "
                            "member_NNN.h5 or index.h5 file written by pbtnas");
    fmt = h5::read_attr_string(file, "format");
    version = h5::read_attr_int64(file, "format_version");
  } catch (const h5::Failure& e) {
    throw CheckpointError(path + " has a damaged header (" + std::string(e.what()) + ")" +
                          damaged_file_advice(path));
  }
  if (fmt != kMemberFormat && fmt != kIndexFormat && fmt != kSharedFormat && fmt != kShardFormat)
    throw CheckpointError(path + " is not a pbtnas checkpoint (format '" + fmt +
                          "'); pass a member_NNN.h5 or index.h5 file written by pbtnas");
  if (!expected.empty() && fmt != expected)
    throw CheckpointError(path + " is a '" + fmt + "' file, but a '" + expected +
                          "' file was expected; pass the " +
                          (expected == kIndexFormat    ? "index.h5"
                           : expected == kSharedFormat ? "pool.h5"
                           : expected == kShardFormat  ? "shard_NNN.h5"
                                                       : "member_NNN.h5") +
                          " file");
  const int newest = fmt == kIndexFormat   ? kIndexFormatVersion
                     : fmt == kShardFormat ? kShardFormatVersion
                                           : kMemberFormatVersion;
  if (version < 1 || version > newest)
    throw CheckpointError(path + " has format_version " + std::to_string(version) +
                          "; this pbtnas reads versions 1.." + std::to_string(newest) +
                          (version > newest ? "; use a newer pbtnas" : ""));
  if (format) *format = fmt;
  return file;
}

FileDigest digest_file(const std::string& path, std::uint64_t offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CheckpointError("cannot open " + path + " to compute its CRC-32: " + errno_text());
  in.seekg(static_cast<std::streamoff>(offset));
  FileDigest d;
  uLong crc = crc32(0L, Z_NULL, 0);
  // Not zero-filled: a member file is often tens of kilobytes, and filling the whole 1-MiB
  // buffer cost more than reading the file; untouched pages of it are never faulted in.
  constexpr std::size_t cap = std::size_t{1} << 20;
  std::unique_ptr<char[]> buf(new char[cap]);
  while (in) {
    in.read(buf.get(), static_cast<std::streamsize>(cap));
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    crc = crc32(crc, reinterpret_cast<const Bytef*>(buf.get()), static_cast<uInt>(n));
    d.bytes += static_cast<std::uint64_t>(n);
  }
  if (in.bad()) throw CheckpointError("read error on " + path + " while computing its CRC-32");
  d.crc32 = static_cast<std::uint32_t>(crc);
  return d;
}

}  // namespace pbtnas::io::detail
