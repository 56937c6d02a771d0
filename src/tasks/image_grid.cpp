#include "pbtnas/tasks/image_grid.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <vector>

#include "pbtnas/util/files.hpp"
#include "pbtnas/util/png.hpp"

namespace pbtnas {
namespace {

constexpr std::int64_t kMaxPngSide = 0x7FFFFFFF;  // PNG: 2^31 - 1

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw std::runtime_error("PNG writer: " + path + ": " + problem);
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
  std::string png;
  try {
    png = encode_png(width, height, channels, pixels);
  } catch (const std::exception& e) {
    fail(path, e.what());
  }

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
  const std::string tmp = temporary_name(path);  // util/files.hpp: one temporary name for every atomic write
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
