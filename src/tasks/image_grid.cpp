#include "pbtnas/tasks/image_grid.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <vector>

namespace pbtnas {
namespace {

constexpr std::size_t kIdatChunkBytes = std::size_t{1} << 18;  // 256 KiB per IDAT chunk
constexpr std::int64_t kMaxRawBytes = std::int64_t{1} << 31;   // 2 GiB of filtered rows
constexpr std::int64_t kMaxPngSide = 0x7FFFFFFF;               // PNG: 2^31 - 1

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw std::runtime_error("PNG writer: " + path + ": " + problem);
}

void put_be32(std::vector<unsigned char>& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<unsigned char>(v >> s));
}

// Appends one chunk: length, type, data, CRC-32 of type and data.
void put_chunk(std::vector<unsigned char>& out, const char type[5], const unsigned char* data,
               std::size_t n) {
  put_be32(out, static_cast<std::uint32_t>(n));
  const std::size_t type_at = out.size();
  out.insert(out.end(), type, type + 4);
  if (n > 0) out.insert(out.end(), data, data + n);
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, out.data() + type_at, static_cast<uInt>(4 + n));
  put_be32(out, static_cast<std::uint32_t>(crc));
}

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};

std::string errno_text(int err) { return err ? std::strerror(err) : "unknown error"; }

}  // namespace

void write_png(const std::string& path, int width, int height, int channels,
               const std::uint8_t* pixels) {
  if (path.empty()) fail("(empty path)", "no file name given");
  if (width <= 0 || height <= 0)
    fail(path, "bad image size " + std::to_string(width) + " x " + std::to_string(height) +
                   " (width and height must be >= 1)");
  if (channels != 1 && channels != 3)
    fail(path, "bad channel count " + std::to_string(channels) +
                   " (1 = grayscale or 3 = RGB supported)");
  const std::int64_t row_bytes = std::int64_t{width} * channels;
  if (row_bytes + 1 > kMaxRawBytes / height)
    fail(path, "image too large (" + std::to_string(width) + " x " + std::to_string(height) +
                   " x " + std::to_string(channels) + "; at most 2 GiB of pixel data)");
  if (!pixels) fail(path, "no pixel data (null pointer)");

  // Filtered scanlines: filter type 0 (None), then the row's bytes.
  std::vector<unsigned char> raw(static_cast<std::size_t>((row_bytes + 1) * height));
  for (std::int64_t y = 0; y < height; ++y) {
    unsigned char* dst = raw.data() + y * (row_bytes + 1);
    dst[0] = 0;
    std::memcpy(dst + 1, pixels + y * row_bytes, static_cast<std::size_t>(row_bytes));
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<unsigned char> packed(packed_size);
  const int zrc = compress2(packed.data(), &packed_size, raw.data(),
                            static_cast<uLong>(raw.size()), Z_DEFAULT_COMPRESSION);
  if (zrc != Z_OK) fail(path, "zlib compression failed (code " + std::to_string(zrc) + ")");
  packed.resize(packed_size);
  raw = {};

  std::vector<unsigned char> png{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  png.reserve(packed.size() + packed.size() / kIdatChunkBytes * 12 + 64);
  std::vector<unsigned char> ihdr;
  put_be32(ihdr, static_cast<std::uint32_t>(width));
  put_be32(ihdr, static_cast<std::uint32_t>(height));
  ihdr.push_back(8);                      // bit depth
  ihdr.push_back(channels == 1 ? 0 : 2);  // color type: grayscale / truecolor
  ihdr.push_back(0);                      // compression: deflate
  ihdr.push_back(0);                      // filter method 0
  ihdr.push_back(0);                      // no interlace
  put_chunk(png, "IHDR", ihdr.data(), ihdr.size());
  for (std::size_t at = 0; at < packed.size(); at += kIdatChunkBytes)
    put_chunk(png, "IDAT", packed.data() + at, std::min(kIdatChunkBytes, packed.size() - at));
  put_chunk(png, "IEND", nullptr, 0);

  // Atomic write: a temporary file next to the target, renamed over it.
  namespace fs = std::filesystem;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec || !fs::is_directory(parent))
      fail(path, "cannot create the parent directory " + parent.string() +
                     (ec ? " (" + ec.message() + ")" : " (it exists but is not a directory)"));
  }
  const std::string tmp = path + ".tmp";
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(tmp.c_str(), "wb"));
  if (!file)
    fail(path, "cannot open " + tmp + " for writing (" + errno_text(errno) +
                   "); check that the folder is writable");
  const std::size_t wrote = std::fwrite(png.data(), 1, png.size(), file.get());
  const int write_errno = errno;
  const bool flushed = std::fflush(file.get()) == 0;
  const int close_rc = std::fclose(file.release());
  if (wrote != png.size() || !flushed || close_rc != 0) {
    const int err = wrote != png.size() ? write_errno : errno;
    std::remove(tmp.c_str());
    fail(path, "writing " + tmp + " failed (" + errno_text(err) + "; disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    fail(path, "cannot rename " + tmp + " onto it (" + errno_text(err) + ")");
  }
}

torch::Tensor make_image_grid(const torch::Tensor& images, int nrow, int padding) {
  auto bad = [](const std::string& problem) {
    throw std::runtime_error("make_image_grid: " + problem);
  };
  if (!images.defined()) bad("undefined images tensor");
  if (images.dim() != 4)
    bad("expected images N x C x H x W, got " + std::to_string(images.dim()) + " dimensions");
  if (!images.is_floating_point())
    bad(std::string("expected floating-point images in [-1, 1], got ") +
        std::string(c10::toString(images.scalar_type())));
  const std::int64_t n = images.size(0), c = images.size(1), h = images.size(2),
                     w = images.size(3);
  if (c != 1 && c != 3) bad("expected 1 or 3 channels, got " + std::to_string(c));
  if (n < 1 || h < 1 || w < 1) bad("empty images tensor");
  if (nrow < 1) bad("nrow must be >= 1, got " + std::to_string(nrow));
  if (padding < 0) bad("padding must be >= 0, got " + std::to_string(padding));

  const std::int64_t cols = std::min<std::int64_t>(nrow, n);
  const std::int64_t rows = (n + cols - 1) / cols;
  const std::int64_t grid_h = rows * (h + padding) + padding;
  const std::int64_t grid_w = cols * (w + padding) + padding;

  // Map on the CPU in double precision: exact at the documented points on every device.
  torch::NoGradGuard no_grad;
  const torch::Tensor x = images.detach().to(torch::kCPU, torch::kFloat64);
  torch::Tensor y = torch::floor(((x + 1.0) * 127.5).clamp(0.0, 255.0) + 0.5);
  y = torch::where(torch::isfinite(x), y, torch::zeros_like(y));
  const torch::Tensor bytes = y.to(torch::kUInt8).permute({0, 2, 3, 1});  // N x H x W x C

  torch::Tensor grid = torch::zeros({grid_h, grid_w, c}, torch::kUInt8);
  for (std::int64_t k = 0; k < n; ++k) {
    const std::int64_t top = (k / cols) * (h + padding) + padding;
    const std::int64_t left = (k % cols) * (w + padding) + padding;
    grid.narrow(0, top, h).narrow(1, left, w).copy_(bytes[k]);
  }
  return grid;
}

void save_image_grid(const torch::Tensor& images, int nrow, const std::string& path) {
  const torch::Tensor grid = make_image_grid(images, nrow);
  if (grid.size(0) > kMaxPngSide || grid.size(1) > kMaxPngSide)
    fail(path, "image grid too large");
  write_png(path, static_cast<int>(grid.size(1)), static_cast<int>(grid.size(0)),
            static_cast<int>(grid.size(2)), grid.data_ptr<std::uint8_t>());
}

}  // namespace pbtnas
