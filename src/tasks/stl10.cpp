#include "pbtnas/tasks/stl10.hpp"
#include "pbtnas/util/paths.hpp"

#include <ATen/Parallel.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>

namespace pbtnas {
namespace {

constexpr std::int64_t kChunkImages = 2048;  // images per fread (56 MiB)

const char* kDataHint =
    "Download the STL-10 *binary* version (stl10_binary.tar.gz from "
    "https://cs.stanford.edu/~acoates/stl10/; not the matlab version), extract it "
    "(tar xzf stl10_binary.tar.gz) and set `gan.data_dir` in the config to the extracted "
    "stl10_binary folder (it holds train_X.bin, train_y.bin, unlabeled_X.bin, test_X.bin, ...)";

[[noreturn]] void fail(const std::string& path, const std::string& problem, const std::string& fix) {
  throw std::runtime_error("STL-10 reader: " + path + ": " + problem + ". " + fix);
}

// What a folder holds instead of the binary files, as a sentence ("" when nothing known).
std::string diagnose_dir(const std::string& dir) {
  if (!is_directory(dir)) return " The folder " + dir + " does not exist.";
  if (is_regular_file(join_path(dir, "train.mat")) || is_regular_file(join_path(dir, "unlabeled.mat")))
    return " The folder holds the *matlab* version of STL-10 (train.mat, unlabeled.mat); this reader needs "
           "the binary version.";
  if (is_directory(join_path(dir, "stl10_binary")))
    return " It has a stl10_binary subfolder: set `gan.data_dir` to " + join_path(dir, "stl10_binary") + ".";
  if (is_regular_file(join_path(dir, "stl10_binary.tar.gz")))
    return " It holds stl10_binary.tar.gz: extract it first (tar xzf stl10_binary.tar.gz).";
  return "";
}

// The format a wrongly sized file looks like, from its first bytes (or "").
std::string sniff_format(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return "";
  unsigned char head[8] = {};
  const std::size_t got = std::fread(head, 1, sizeof head, f);
  std::fclose(f);
  if (got >= 6 && std::memcmp(head, "MATLAB", 6) == 0) return "it looks like the *matlab* version of STL-10";
  if (got >= 2 && head[0] == 0x1F && head[1] == 0x8B)
    return "it is gzip-compressed (an archive, not an extracted image file)";
  return "";
}

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};
using FileHandle = std::unique_ptr<std::FILE, FileCloser>;

// Size of a file that must exist, be a regular file and non-empty (else an error with the fix).
std::int64_t checked_size(const std::string& path, const char* what) {
  struct stat st {};
  const bool found = ::stat(path.c_str(), &st) == 0;
  if (!found || !S_ISREG(st.st_mode)) {
    const std::string problem = found && S_ISDIR(st.st_mode) ? std::string("is a directory, expected ") + what
                                                             : "file not found (or not a regular file)";
    fail(path, problem, kDataHint + diagnose_dir(parent_dir(path)));
  }
  if (st.st_size == 0) fail(path, "the file is empty", "Re-download and extract stl10_binary.tar.gz");
  return st.st_size;
}

struct Plan {
  std::string path;
  std::int64_t images = 0;  // how many to read from it
};

std::vector<Plan> plan_files(const std::vector<std::string>& paths, std::int64_t limit) {
  if (paths.empty()) throw std::runtime_error("STL-10 reader: no files given. " + std::string(kDataHint));
  std::vector<Plan> plan;
  std::int64_t total = 0;
  for (const auto& path : paths) {
    if (limit > 0 && total >= limit) break;
    const std::int64_t size = checked_size(path, "an STL-10 image file");
    if (size % kStl10ImageBytes != 0) {
      std::string why = "size " + std::to_string(size) + " bytes is not a multiple of " +
                        std::to_string(kStl10ImageBytes) +
                        " bytes (one 3 x 96 x 96 image): truncated, or not an STL-10 binary image file";
      const std::string format = sniff_format(path);
      if (!format.empty()) why += " (" + format + ")";
      fail(path, why, "Re-download and extract stl10_binary.tar.gz (the whole archive is 2.6 GB). " +
                          std::string(kDataHint));
    }
    const std::int64_t in_file = size / kStl10ImageBytes;
    const std::int64_t take = limit > 0 ? std::min(in_file, limit - total) : in_file;
    plan.push_back({path, take});
    total += take;
  }
  return plan;
}

std::int64_t planned_images(const std::vector<Plan>& plan) {
  std::int64_t n = 0;
  for (const auto& p : plan) n += p.images;
  return n;
}

// Reads the planned images in chunks of at most kChunkImages and calls
// `use(chunk, first)` with chunk a uint8 n x 3 x 96 x 96 (H x W) tensor of images first ..
// first + n - 1.
void for_each_chunk(const std::vector<Plan>& plan,
                    const std::function<void(const torch::Tensor&, std::int64_t)>& use) {
  std::int64_t next = 0;
  for (const auto& p : plan) {
    FileHandle f(std::fopen(p.path.c_str(), "rb"));
    if (!f) fail(p.path, std::string("cannot open the file for reading (") + std::strerror(errno) + ")", "Check its permissions");
    for (std::int64_t done = 0; done < p.images;) {
      const std::int64_t n = std::min(kChunkImages, p.images - done);
      torch::Tensor raw = torch::empty({n, kStl10Channels, kStl10Side, kStl10Side}, torch::kUInt8);
      const std::size_t want = static_cast<std::size_t>(n * kStl10ImageBytes);
      const std::size_t got = std::fread(raw.data_ptr<std::uint8_t>(), 1, want, f.get());
      if (got != want)
        fail(p.path,
             std::ferror(f.get()) ? std::string("read error (") + std::strerror(errno) + ")"
                                  : "truncated while reading (the file shrank?)",
             "Re-download and extract stl10_binary.tar.gz");
      // Each plane is stored column-major: the file's [c][x][y] is the image's [c][y][x].
      use(raw.transpose(2, 3).contiguous(), next);
      next += n;
      done += n;
    }
  }
}

// Pillow's resampling coefficients (precompute_coeffs + normalize_coeffs_8bpc in its
// libImaging/Resample.c) for the BILINEAR (triangle, support 1) filter along one axis: output
// pixel o reads `count[o]` input pixels from `first[o]` with 22-bit fixed-point weights
// weight[o * ksize + j].
constexpr int kPrecisionBits = 32 - 8 - 2;

struct AxisCoeffs {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<std::int32_t> weight;
};

AxisCoeffs bilinear_coeffs(std::int64_t in_size, std::int64_t out_size) {
  AxisCoeffs c;
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filterscale = std::max(scale, 1.0);  // reduction widens the filter (antialias)
  const double support = 1.0 * filterscale;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(static_cast<std::size_t>(out_size));
  c.count.resize(static_cast<std::size_t>(out_size));
  c.weight.assign(static_cast<std::size_t>(out_size * c.ksize), 0);
  std::vector<double> w(static_cast<std::size_t>(c.ksize));
  for (std::int64_t o = 0; o < out_size; ++o) {
    const double center = (static_cast<double>(o) + 0.5) * scale;
    int lo = static_cast<int>(center - support + 0.5);  // truncation toward zero, as in C
    if (lo < 0) lo = 0;
    int hi = static_cast<int>(center + support + 0.5);
    if (hi > in_size) hi = static_cast<int>(in_size);
    const int n = hi - lo;
    double total = 0.0;
    for (int j = 0; j < n; ++j) {
      double t = (j + lo - center + 0.5) / filterscale;
      if (t < 0.0) t = -t;
      w[static_cast<std::size_t>(j)] = t < 1.0 ? 1.0 - t : 0.0;
      total += w[static_cast<std::size_t>(j)];
    }
    for (int j = 0; j < n; ++j) {
      double v = w[static_cast<std::size_t>(j)];
      if (total != 0.0) v /= total;
      const double fixed = v * static_cast<double>(1 << kPrecisionBits);
      c.weight[static_cast<std::size_t>(o * c.ksize + j)] =
          static_cast<std::int32_t>(v < 0 ? -0.5 + fixed : 0.5 + fixed);
    }
    c.first[static_cast<std::size_t>(o)] = lo;
    c.count[static_cast<std::size_t>(o)] = n;
  }
  return c;
}

inline std::uint8_t clip8(std::int32_t acc) {
  const std::int32_t v = acc >> kPrecisionBits;  // arithmetic shift: floor, as Pillow's table
  return static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

}  // namespace

std::vector<std::string> stl10_train_unlabeled_paths(const std::string& dir) {
  return {join_path(dir, "train_X.bin"), join_path(dir, "unlabeled_X.bin")};
}

std::string stl10_train_labels_path(const std::string& dir) { return join_path(dir, "train_y.bin"); }

std::int64_t count_stl10_images(const std::vector<std::string>& paths, std::int64_t limit) {
  return planned_images(plan_files(paths, limit));
}

torch::Tensor read_stl10_images(const std::vector<std::string>& paths, std::int64_t limit) {
  const std::vector<Plan> plan = plan_files(paths, limit);
  torch::Tensor out = torch::empty({planned_images(plan), kStl10Channels, kStl10Side, kStl10Side}, torch::kUInt8);
  for_each_chunk(plan, [&](const torch::Tensor& chunk, std::int64_t first) {
    out.slice(0, first, first + chunk.size(0)).copy_(chunk);
  });
  return out;
}

torch::Tensor read_stl10_labels(const std::string& path, std::int64_t limit) {
  const std::int64_t size = checked_size(path, "an STL-10 label file");
  if (limit > size)
    fail(path,
         "holds " + std::to_string(size) + " labels but " + std::to_string(limit) +
             " are needed (one per image of the matching _X.bin file)",
         "Re-download and extract stl10_binary.tar.gz");
  const std::int64_t n = limit > 0 ? limit : size;
  FileHandle f(std::fopen(path.c_str(), "rb"));
  if (!f) fail(path, std::string("cannot open the file for reading (") + std::strerror(errno) + ")", "Check its permissions");
  torch::Tensor out = torch::empty({n}, torch::kUInt8);
  std::uint8_t* p = out.data_ptr<std::uint8_t>();
  if (std::fread(p, 1, static_cast<std::size_t>(n), f.get()) != static_cast<std::size_t>(n))
    fail(path, "truncated while reading (the file shrank?)", "Re-download and extract stl10_binary.tar.gz");
  for (std::int64_t i = 0; i < n; ++i) {
    if (p[i] < 1 || p[i] > kStl10Classes)
      fail(path,
           "bad label " + std::to_string(p[i]) + " at byte " + std::to_string(i) +
               ", expected 1..10 (is it an image file?)",
           "The file is corrupt or not an STL-10 label file; re-download and extract stl10_binary.tar.gz");
    p[i] = static_cast<std::uint8_t>(p[i] - 1);
  }
  return out;
}

torch::Tensor resize_bilinear_like_pil(const torch::Tensor& images, std::int64_t out_h, std::int64_t out_w) {
  if (!images.defined() || images.dim() != 4 || images.scalar_type() != torch::kUInt8)
    throw std::invalid_argument("resize_bilinear_like_pil: expected uint8 N x C x H x W images");
  if (out_h < 1 || out_w < 1) throw std::invalid_argument("resize_bilinear_like_pil: the output size must be >= 1");
  const torch::Tensor in = images.contiguous();
  const std::int64_t planes = in.size(0) * in.size(1), in_h = in.size(2), in_w = in.size(3);
  torch::Tensor out = torch::empty({in.size(0), in.size(1), out_h, out_w}, torch::kUInt8);
  if (planes == 0) return out;
  const bool horizontal = out_w != in_w, vertical = out_h != in_h;
  const AxisCoeffs cx = bilinear_coeffs(in_w, out_w), cy = bilinear_coeffs(in_h, out_h);
  const std::uint8_t* src = in.data_ptr<std::uint8_t>();
  std::uint8_t* dst = out.data_ptr<std::uint8_t>();
  const std::int32_t half = 1 << (kPrecisionBits - 1);
  at::parallel_for(0, planes, 16, [&](std::int64_t begin, std::int64_t end) {
    const std::int64_t tmp_w = horizontal ? out_w : in_w;
    std::vector<std::uint8_t> tmp(static_cast<std::size_t>(in_h * tmp_w));
    for (std::int64_t p = begin; p < end; ++p) {
      const std::uint8_t* s = src + p * in_h * in_w;
      std::uint8_t* d = dst + p * out_h * out_w;
      // Horizontal pass into tmp (in_h x tmp_w), rounded to bytes.
      if (horizontal) {
        for (std::int64_t y = 0; y < in_h; ++y)
          for (std::int64_t x = 0; x < out_w; ++x) {
            const std::int32_t* k = cx.weight.data() + x * cx.ksize;
            const std::uint8_t* row = s + y * in_w + cx.first[static_cast<std::size_t>(x)];
            std::int32_t acc = half;
            for (int j = 0; j < cx.count[static_cast<std::size_t>(x)]; ++j) acc += row[j] * k[j];
            tmp[static_cast<std::size_t>(y * tmp_w + x)] = clip8(acc);
          }
      } else {
        std::memcpy(tmp.data(), s, tmp.size());
      }
      // Vertical pass into d (out_h x out_w).
      if (vertical) {
        for (std::int64_t y = 0; y < out_h; ++y) {
          const std::int32_t* k = cy.weight.data() + y * cy.ksize;
          const std::int64_t y0 = cy.first[static_cast<std::size_t>(y)];
          const int n = cy.count[static_cast<std::size_t>(y)];
          for (std::int64_t x = 0; x < out_w; ++x) {
            std::int32_t acc = half;
            for (int j = 0; j < n; ++j) acc += tmp[static_cast<std::size_t>((y0 + j) * tmp_w + x)] * k[j];
            d[y * out_w + x] = clip8(acc);
          }
        }
      } else {
        std::memcpy(d, tmp.data(), tmp.size());
      }
    }
  });
  return out;
}

torch::Tensor read_stl10_scaled(const std::vector<std::string>& paths, std::int64_t side, std::int64_t limit) {
  if (side < 1) throw std::invalid_argument("read_stl10_scaled: side must be >= 1");
  const std::vector<Plan> plan = plan_files(paths, limit);
  torch::Tensor out = torch::empty({planned_images(plan), kStl10Channels, side, side}, torch::kFloat32);
  for_each_chunk(plan, [&](const torch::Tensor& chunk, std::int64_t first) {
    // [0, 255] -> [-1, 1] as the other GAN data sets (u / 127.5 - 1).
    out.slice(0, first, first + chunk.size(0))
        .copy_(resize_bilinear_like_pil(chunk, side, side).to(torch::kFloat32).div_(127.5).sub_(1.0));
  });
  return out;
}

}  // namespace pbtnas
