#include "pbtnas/tasks/idx.hpp"

#include <sys/stat.h>
#include <zlib.h>

#include <cstdio>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace pbtnas {
namespace {

constexpr std::int64_t kMaxPayloadBytes = std::int64_t{1} << 34;  // 16 GiB: corrupt header

const char* kDataHint =
    "The default data comes from Debian's `dataset-fashion-mnist` package "
    "(apt-get install dataset-fashion-mnist, files in /usr/share/datasets/fashion-mnist); "
    "otherwise set `classify.data.dir` (and the file names) in the config to IDX files";

[[noreturn]] void fail(const std::string& path, const std::string& problem,
                       const std::string& fix) {
  throw std::runtime_error("IDX reader: " + path + ": " + problem + ". " + fix);
}

std::string hex(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

struct GzCloser {
  void operator()(gzFile_s* f) const {
    if (f) gzclose(f);
  }
};
using GzHandle = std::unique_ptr<gzFile_s, GzCloser>;

// Reads exactly n bytes; returns the number actually read (< n at end of data). A zlib error
// (corrupt or truncated compressed stream) throws.
std::int64_t read_bytes(gzFile file, const std::string& path, void* dst, std::int64_t n) {
  auto* out = static_cast<unsigned char*>(dst);
  std::int64_t done = 0;
  while (done < n) {
    const std::int64_t chunk = std::min<std::int64_t>(n - done, 1 << 30);
    const int got = gzread(file, out + done, static_cast<unsigned>(chunk));
    if (got < 0) {
      int errnum = 0;
      const char* msg = gzerror(file, &errnum);
      fail(path,
           std::string("the compressed stream is corrupt or truncated (zlib: ") +
               (msg ? msg : "unknown error") + ")",
           "Re-download or reinstall the file");
    }
    if (got == 0) break;
    done += got;
  }
  return done;
}

std::uint32_t big_endian(const unsigned char* b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         std::uint32_t{b[3]};
}

}  // namespace

IdxArray read_idx(const std::string& path, std::uint32_t expected_magic, std::int64_t limit, bool payload) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    fail(path, "file not found (or not a regular file)", kDataHint);
  GzHandle file(gzopen(path.c_str(), "rb"));
  if (!file) fail(path, "cannot open the file for reading", "Check its permissions");
  gzbuffer(file.get(), 1 << 17);

  unsigned char word[4];
  if (read_bytes(file.get(), path, word, 4) != 4)
    fail(path, "truncated: shorter than the 4-byte IDX magic number",
         "Re-download or reinstall the file");
  IdxArray out;
  out.path = path;
  out.magic = big_endian(word);
  if (out.magic != expected_magic)
    fail(path,
         "bad magic number " + hex(out.magic) + ", expected " + hex(expected_magic) +
             (expected_magic == kIdxImagesMagic ? " (uint8 images N x rows x cols)"
                                                : " (uint8 labels N)"),
         "Point the config at the right IDX file (images vs labels?) or reinstall it");
  const int ndims = static_cast<int>(expected_magic & 0xFF);
  std::int64_t record_bytes = 1;
  for (int d = 0; d < ndims; ++d) {
    if (read_bytes(file.get(), path, word, 4) != 4)
      fail(path, "truncated header: missing dimension " + std::to_string(d),
           "Re-download or reinstall the file");
    const std::int64_t size = big_endian(word);
    if (d > 0 && size == 0)
      fail(path, "invalid dimension " + std::to_string(d) + " = " + std::to_string(size),
           "The header is corrupt; re-download or reinstall the file");
    if (d > 0) {
      record_bytes *= size;
      if (record_bytes > kMaxPayloadBytes)
        fail(path, "implausible record size in the header", "Re-download or reinstall the file");
    }
    out.dims.push_back(size);
  }
  const std::int64_t n_total = out.dims[0];
  const std::int64_t n = limit > 0 ? std::min(limit, n_total) : n_total;
  if (n > kMaxPayloadBytes / record_bytes)
    fail(path, "implausible dimensions in the header (" + std::to_string(n_total) + " records)",
         "Re-download or reinstall the file");

  std::vector<std::int64_t> shape{n};
  shape.insert(shape.end(), out.dims.begin() + 1, out.dims.end());
  if (!payload) return out;
  out.data = torch::empty(shape, torch::kUInt8);
  const std::int64_t want = n * record_bytes;
  const std::int64_t got = read_bytes(file.get(), path, out.data.data_ptr<std::uint8_t>(), want);
  if (got != want)
    fail(path,
         "truncated payload: expected " + std::to_string(want) + " bytes for " + std::to_string(n) +
             " records, found " + std::to_string(got),
         "Re-download or reinstall the file");
  return out;
}

IdxImages read_idx_images(const std::string& images_path, const std::string& labels_path,
                          std::int64_t limit, bool pixels) {
  IdxArray images = read_idx(images_path, kIdxImagesMagic, limit, pixels);
  IdxArray labels = read_idx(labels_path, kIdxLabelsMagic, limit);
  if (images.dims[0] != labels.dims[0]) {
    std::ostringstream msg;
    msg << "holds " << labels.dims[0] << " labels but " << images_path << " holds "
        << images.dims[0] << " images";
    fail(labels_path, msg.str(),
         "Use an images file and a labels file of the same split (e.g. train-* with train-*)");
  }
  std::vector<std::int64_t> shape{labels.data.size(0)};
  shape.insert(shape.end(), images.dims.begin() + 1, images.dims.end());
  return IdxImages{images.data, labels.data, shape};
}

}  // namespace pbtnas
