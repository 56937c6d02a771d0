// PNG writer and image grids: the written files are decoded here by a small independent decoder
// (chunks, CRCs and inflate through zlib, all five scanline filters) and compared pixel by pixel.
#include "pbtnas/tasks/image_grid.hpp"

#include <zlib.h>

#include <catch2/catch.hpp>
#include "support/skip.hpp"
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

#include "task_test_util.hpp"

using namespace pbtnas;
using pbtnas::test::read_raw;
using pbtnas::test::TempDir;
using pbtnas::test::write_file;

using pbtnas::test::require_error;

namespace {

// Files left next to `path` by a write of it (util/files.hpp's temporary_name: PATH.tmp.*).
int temporaries_beside(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string prefix = p.filename().string() + ".tmp";
  int n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(p.parent_path(), ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) ++n;
  return n;
}

struct DecodedPng {
  std::uint32_t width = 0, height = 0;
  int bit_depth = 0, color_type = 0, compression = 0, filter = 0, interlace = 0;
  int channels = 0;
  std::vector<std::string> chunks;  // chunk types in file order
  std::vector<std::uint8_t> pixels;  // height x width x channels
};

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

int paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

// Decodes an 8-bit grayscale or RGB, non-interlaced PNG; REQUIREs every structural property.
DecodedPng decode_png(const std::string& path) {
  const std::vector<unsigned char> file = read_raw(path);
  const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  REQUIRE(file.size() >= 8);
  REQUIRE(std::equal(signature, signature + 8, file.begin()));
  DecodedPng png;
  std::vector<unsigned char> idat;
  std::size_t at = 8;
  bool ended = false;
  while (at < file.size()) {
    REQUIRE_FALSE(ended);  // nothing after IEND
    REQUIRE(at + 12 <= file.size());
    const std::uint32_t len = be32(&file[at]);
    REQUIRE(at + 12 + len <= file.size());
    const std::string type(file.begin() + static_cast<long>(at) + 4,
                           file.begin() + static_cast<long>(at) + 8);
    const unsigned char* data = &file[at + 8];
    const uLong crc = crc32(crc32(0L, Z_NULL, 0), &file[at + 4], static_cast<uInt>(4 + len));
    INFO("chunk " << type);
    CHECK(be32(&file[at + 8 + len]) == static_cast<std::uint32_t>(crc));
    png.chunks.push_back(type);
    if (type == "IHDR") {
      REQUIRE(png.chunks.size() == 1);
      REQUIRE(len == 13);
      png.width = be32(data);
      png.height = be32(data + 4);
      png.bit_depth = data[8];
      png.color_type = data[9];
      png.compression = data[10];
      png.filter = data[11];
      png.interlace = data[12];
    } else if (type == "IDAT") {
      idat.insert(idat.end(), data, data + len);
    } else if (type == "IEND") {
      CHECK(len == 0);
      ended = true;
    }
    at += 12 + len;
  }
  REQUIRE(ended);
  REQUIRE(png.chunks.front() == "IHDR");
  REQUIRE(png.bit_depth == 8);
  REQUIRE((png.color_type == 0 || png.color_type == 2));
  REQUIRE(png.compression == 0);
  REQUIRE(png.filter == 0);
  REQUIRE(png.interlace == 0);
  png.channels = png.color_type == 0 ? 1 : 3;

  const std::size_t stride = std::size_t{png.width} * static_cast<std::size_t>(png.channels);
  const std::size_t raw_size = (stride + 1) * png.height;
  std::vector<unsigned char> raw(raw_size + 1);  // one spare byte: detects excess data
  uLongf raw_len = static_cast<uLongf>(raw.size());
  REQUIRE(uncompress(raw.data(), &raw_len, idat.data(), static_cast<uLong>(idat.size())) == Z_OK);
  REQUIRE(raw_len == raw_size);

  png.pixels.assign(stride * png.height, 0);
  const int bpp = png.channels;
  for (std::size_t y = 0; y < png.height; ++y) {
    const unsigned char filter = raw[y * (stride + 1)];
    REQUIRE(filter <= 4);
    const unsigned char* in = &raw[y * (stride + 1) + 1];
    std::uint8_t* out = &png.pixels[y * stride];
    const std::uint8_t* up = y > 0 ? &png.pixels[(y - 1) * stride] : nullptr;
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= static_cast<std::size_t>(bpp) ? out[i - bpp] : 0;
      const int b = up ? up[i] : 0;
      const int c = (up && i >= static_cast<std::size_t>(bpp)) ? up[i - bpp] : 0;
      int pred = 0;
      switch (filter) {
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) / 2; break;
        case 4: pred = paeth(a, b, c); break;
        default: break;
      }
      out[i] = static_cast<std::uint8_t>((in[i] + pred) & 0xFF);
    }
  }
  return png;
}

std::vector<std::uint8_t> pattern(int w, int h, int c, int salt = 0) {
  std::vector<std::uint8_t> v(static_cast<std::size_t>(w * h * c));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k)
        v[static_cast<std::size_t>((y * w + x) * c + k)] =
            static_cast<std::uint8_t>((x * 37 + y * 11 + k * 101 + salt) % 256);
  return v;
}


// The byte image k, channel c, row y, column x of the grid tests maps to: never 0.
std::uint8_t cell_byte(std::int64_t k, std::int64_t c, std::int64_t y, std::int64_t x) {
  return static_cast<std::uint8_t>(1 + (k * 53 + c * 29 + y * 7 + x * 3) % 255);
}

// N x C x H x W floats in [-1, 1] that map exactly onto cell_byte.
torch::Tensor cell_images(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
  torch::Tensor t = torch::empty({n, c, h, w}, torch::kFloat32);
  auto a = t.accessor<float, 4>();
  for (std::int64_t k = 0; k < n; ++k)
    for (std::int64_t ch = 0; ch < c; ++ch)
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x)
          a[k][ch][y][x] = static_cast<float>(cell_byte(k, ch, y, x) / 127.5 - 1.0);
  return t;
}

// Checks a grid of cell_images(n, c, h, w) against torchvision's geometry.
void check_grid(const torch::Tensor& grid, std::int64_t n, std::int64_t c, std::int64_t h,
                std::int64_t w, int nrow, int padding) {
  const std::int64_t cols = std::min<std::int64_t>(nrow, n), rows = (n + cols - 1) / cols;
  REQUIRE(grid.device().is_cpu());
  REQUIRE(grid.scalar_type() == torch::kUInt8);
  REQUIRE(grid.is_contiguous());
  REQUIRE(grid.sizes() ==
          torch::IntArrayRef({rows * (h + padding) + padding, cols * (w + padding) + padding, c}));
  auto g = grid.accessor<std::uint8_t, 3>();
  std::int64_t wrong = 0, image_pixels = 0;
  for (std::int64_t gy = 0; gy < grid.size(0); ++gy)
    for (std::int64_t gx = 0; gx < grid.size(1); ++gx) {
      const std::int64_t cy = gy - padding, cx = gx - padding;  // position past the border
      const std::int64_t row = cy >= 0 ? cy / (h + padding) : -1;
      const std::int64_t col = cx >= 0 ? cx / (w + padding) : -1;
      const std::int64_t y = cy - row * (h + padding), x = cx - col * (w + padding);
      const std::int64_t k = row * cols + col;
      const bool inside = row >= 0 && col >= 0 && y < h && x < w && k < n;
      for (std::int64_t ch = 0; ch < c; ++ch) {
        const std::uint8_t want = inside ? cell_byte(k, ch, y, x) : 0;
        if (g[gy][gx][ch] != want) ++wrong;
      }
      if (inside) ++image_pixels;
    }
  CHECK(wrong == 0);
  CHECK(image_pixels == n * h * w);
}

}  // namespace

TEST_CASE("png: grayscale and RGB images of odd sizes decode exactly", "[png]") {
  TempDir dir;
  for (const int channels : {1, 3}) {
    INFO("channels " << channels);
    const int w = 7, h = 5;
    const auto pixels = pattern(w, h, channels);
    const std::string path = dir.file("img" + std::to_string(channels) + ".png");
    write_png(path, w, h, channels, pixels.data());
    const DecodedPng png = decode_png(path);
    CHECK(png.width == 7);
    CHECK(png.height == 5);
    CHECK(png.bit_depth == 8);
    CHECK(png.color_type == (channels == 1 ? 0 : 2));
    CHECK(png.channels == channels);
    CHECK(png.chunks == std::vector<std::string>{"IHDR", "IDAT", "IEND"});
    CHECK(png.pixels == pixels);
    CHECK(temporaries_beside(path) == 0);
  }
  // 1 x 1 and single-row / single-column images.
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{1, 1}, {9, 1}, {1, 6}}) {
    const auto pixels = pattern(w, h, 3, 5);
    const std::string path = dir.file("small.png");
    write_png(path, w, h, 3, pixels.data());
    const DecodedPng png = decode_png(path);
    CHECK(png.width == static_cast<std::uint32_t>(w));
    CHECK(png.height == static_cast<std::uint32_t>(h));
    CHECK(png.pixels == pixels);
  }
}

TEST_CASE("png: a large image spans several IDAT chunks", "[png]") {
  TempDir dir;
  const int w = 601, h = 499;
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(w * h * 3));
  std::mt19937 gen(7);
  for (auto& p : pixels) p = static_cast<std::uint8_t>(gen() & 0xFF);  // incompressible
  const std::string path = dir.file("noise.png");
  write_png(path, w, h, 3, pixels.data());
  const DecodedPng png = decode_png(path);
  CHECK(std::count(png.chunks.begin(), png.chunks.end(), "IDAT") >= 3);
  CHECK(png.chunks.front() == "IHDR");
  CHECK(png.chunks.back() == "IEND");
  CHECK(png.pixels == pixels);
}

TEST_CASE("png: parent folders are created and an existing file is replaced", "[png]") {
  TempDir dir;
  const std::string path = dir.file("a/b/c/out.png");
  const auto first = pattern(4, 3, 1, 0), second = pattern(4, 3, 1, 77);
  write_png(path, 4, 3, 1, first.data());
  CHECK(decode_png(path).pixels == first);
  write_png(path, 4, 3, 1, second.data());
  CHECK(decode_png(path).pixels == second);
  CHECK(temporaries_beside(path) == 0);
  CHECK(std::distance(std::filesystem::directory_iterator(dir.file("a/b/c")),
                      std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("png: errors name the path and the problem", "[png]") {
  TempDir dir;
  const auto pixels = pattern(3, 2, 3);
  // A regular file where a parent folder should be: unwritable even for root.
  write_file(dir.file("blocker"), {1, 2, 3});
  for (const std::string path : {dir.file("blocker/out.png"), dir.file("blocker/sub/out.png")})
    require_error([&] { write_png(path, 3, 2, 3, pixels.data()); }, {path, "directory"});
  std::filesystem::create_directories(dir.file("a_folder"));
  require_error([&] { write_png(dir.file("a_folder"), 3, 2, 3, pixels.data()); },
                {dir.file("a_folder"), "rename"});
  CHECK(temporaries_beside(dir.file("a_folder")) == 0);

  const std::string path = dir.file("bad.png");
  require_error([&] { write_png(path, 0, 2, 3, pixels.data()); }, {path, "size", "0 x 2"});
  require_error([&] { write_png(path, 3, -1, 3, pixels.data()); }, {path, "size"});
  require_error([&] { write_png(path, 3, 2, 2, pixels.data()); }, {path, "channel", "2"});
  require_error([&] { write_png(path, 3, 2, 4, pixels.data()); }, {path, "channel"});
  require_error([&] { write_png(path, 3, 2, 3, nullptr); }, {path, "pixel"});
  require_error([&] { write_png(path, 1 << 30, 1 << 30, 3, pixels.data()); },
                {path, "too large"});
  require_error([&] { write_png("", 3, 2, 3, pixels.data()); }, {"empty path"});
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("grid: geometry and padding follow torchvision's make_grid", "[grid]") {
  SECTION("N not a multiple of nrow, RGB") {
    const torch::Tensor grid = make_image_grid(cell_images(5, 3, 4, 6), 3);
    CHECK(grid.sizes() == torch::IntArrayRef({2 * 6 + 2, 3 * 8 + 2, 3}));
    check_grid(grid, 5, 3, 4, 6, 3, 2);
  }
  SECTION("grayscale stays one channel; odd sizes, wide padding") {
    check_grid(make_image_grid(cell_images(7, 1, 5, 3), 4, 3), 7, 1, 5, 3, 4, 3);
  }
  SECTION("fewer images than nrow: one row of N images") {
    const torch::Tensor grid = make_image_grid(cell_images(2, 3, 4, 4), 8);
    CHECK(grid.sizes() == torch::IntArrayRef({4 + 4, 2 * 6 + 2, 3}));
    check_grid(grid, 2, 3, 4, 4, 8, 2);
  }
  SECTION("padding 0: the images side by side") {
    const torch::Tensor images = cell_images(4, 3, 3, 2);
    const torch::Tensor grid = make_image_grid(images, 2, 0);
    check_grid(grid, 4, 3, 3, 2, 2, 0);
    CHECK(grid.sizes() == torch::IntArrayRef({6, 4, 3}));
  }
  SECTION("one image per row, one image") {
    check_grid(make_image_grid(cell_images(3, 1, 2, 2), 1), 3, 1, 2, 2, 1, 2);
    check_grid(make_image_grid(cell_images(1, 3, 5, 7), 8), 1, 3, 5, 7, 8, 2);
  }
  SECTION("a non-contiguous input") {
    const torch::Tensor images = cell_images(5, 3, 4, 6);
    const torch::Tensor strided = images.permute({0, 1, 3, 2}).contiguous().permute({0, 1, 3, 2});
    REQUIRE_FALSE(strided.is_contiguous());
    CHECK(make_image_grid(strided, 3).equal(make_image_grid(images, 3)));
  }
}

TEST_CASE("grid: [-1, 1] maps to [0, 255], clamped, non-finite values to 0", "[grid]") {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<std::pair<double, int>> cases{
      {-1.0, 0},     {0.0, 128},    {1.0, 255},    {0.5, 191},  {-0.5, 64},  // 63.75 -> 64
      {-2.0, 0},     {-1.5, 0},     {1.01, 255},   {7.0, 255},  {1e30, 255}, {-1e30, 0},
      {nan, 0},      {inf, 0},      {-inf, 0},     {-1.0 + 1.0 / 127.5, 1},
      {1.0 - 1.0 / 127.5, 254},     {-1.0 + 0.49 / 127.5, 0},   {-1.0 + 0.51 / 127.5, 1}};
  std::vector<double> values;
  for (const auto& c : cases) values.push_back(c.first);
  const auto count = static_cast<std::int64_t>(values.size());
  for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
    const torch::Tensor images =
        torch::tensor(values, torch::kFloat64).to(dtype).reshape({1, 1, 1, count});
    const torch::Tensor grid = make_image_grid(images, 1, 0);
    REQUIRE(grid.sizes() == torch::IntArrayRef({1, count, 1}));
    for (std::int64_t i = 0; i < count; ++i) {
      INFO("x = " << cases[i].first << ", dtype " << dtype);
      CHECK(grid[0][i][0].item<int>() == cases[i].second);
    }
  }
  // Half precision, and the RGB channels mapped independently.
  const torch::Tensor rgb = torch::tensor({-1.0, 0.0, 1.0}).reshape({1, 3, 1, 1});
  const torch::Tensor half = make_image_grid(rgb.to(torch::kFloat16), 1, 0);
  CHECK(half.flatten().equal(torch::tensor({0, 128, 255}, torch::kUInt8)));
  // A tensor that requires grad is fine.
  const torch::Tensor leaf = torch::zeros({2, 1, 2, 2}, torch::requires_grad());
  CHECK(make_image_grid(leaf, 2, 1).sum().item<int>() == 8 * 128);
}

TEST_CASE("grid: invalid inputs are rejected", "[grid]") {
  require_error([] { make_image_grid(torch::zeros({3, 4, 4}), 2); }, {"N x C x H x W"});
  require_error([] { make_image_grid(torch::zeros({2, 2, 4, 4}), 2); }, {"channels", "2"});
  require_error([] { make_image_grid(torch::zeros({2, 4, 4, 4}), 2); }, {"channels", "4"});
  require_error([] { make_image_grid(torch::zeros({0, 3, 4, 4}), 2); }, {"empty"});
  require_error([] { make_image_grid(torch::zeros({2, 3, 4, 4}), 0); }, {"nrow"});
  require_error([] { make_image_grid(torch::zeros({2, 3, 4, 4}), 2, -1); }, {"padding"});
  require_error([] { make_image_grid(torch::zeros({2, 3, 4, 4}, torch::kUInt8), 2); },
                {"floating-point"});
  require_error([] { make_image_grid(torch::Tensor(), 2); }, {"undefined"});
}

TEST_CASE("grid: save_image_grid writes the grid as a PNG", "[grid][png]") {
  TempDir dir;
  for (const std::int64_t c : {1, 3}) {
    INFO("channels " << c);
    const torch::Tensor images = cell_images(5, c, 7, 5);
    const std::string path = dir.file("samples/grid_" + std::to_string(c) + ".png");
    save_image_grid(images, 2, path);
    const torch::Tensor grid = make_image_grid(images, 2);
    const DecodedPng png = decode_png(path);
    CHECK(png.width == static_cast<std::uint32_t>(grid.size(1)));
    CHECK(png.height == static_cast<std::uint32_t>(grid.size(0)));
    CHECK(png.channels == c);
    REQUIRE(png.pixels.size() == static_cast<std::size_t>(grid.numel()));
    CHECK(std::equal(png.pixels.begin(), png.pixels.end(), grid.data_ptr<std::uint8_t>()));
  }
  const std::string under_file = dir.file("samples/grid_1.png/x.png");  // parent is a file
  require_error([&] { save_image_grid(cell_images(2, 3, 2, 2), 2, under_file); }, {under_file});
}

TEST_CASE("grid: CUDA images give the same grid as CPU images", "[grid][cuda]") {
  if (!torch::cuda::is_available()) {
    PBTNAS_SKIP("no CUDA device");
  }
  const torch::Tensor images = cell_images(6, 3, 5, 4);
  images[2][1][3][2] = std::numeric_limits<float>::quiet_NaN();
  images[4][0][0][0] = 3.0f;
  const torch::Tensor on_gpu = make_image_grid(images.to(torch::kCUDA), 4);
  CHECK(on_gpu.device().is_cpu());
  CHECK(on_gpu.equal(make_image_grid(images, 4)));
}
