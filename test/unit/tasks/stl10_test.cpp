// STL-10 binary reader: image files written by the test in the official layout (column-major
// channel planes), the transposition, counts and limits across files, labels, Pillow's bilinear
// resize 96 -> 48 on patterns computed by hand, the [-1, 1] scaling, every documented error, and
// the real data set when it is present (else SKIPPED).
#include "pbtnas/tasks/stl10.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>

#include "task_test_util.hpp"

using namespace pbtnas;
using pbtnas::test::require_error;
using pbtnas::test::TempDir;
using pbtnas::test::write_file;

namespace {

constexpr int kSide = 96;
constexpr int kPlane = kSide * kSide;

using PixelFn = std::function<std::uint8_t(int id, int c, int y, int x)>;

// Pixel of global image `id`, channel c, row y, column x: every image, plane, row and column differs.
std::uint8_t pixel(int id, int c, int y, int x) {
  return static_cast<std::uint8_t>((id * 53 + c * 101 + y * 7 + x * 3 + (c == 1 ? x * y : 0)) % 256);
}

// Bytes of an STL-10 image file holding images first_id .. first_id + n - 1 in the official
// layout: per image the R, G, B planes, each plane COLUMN-major (byte x * 96 + y is row y, column x).
std::vector<unsigned char> image_file(int first_id, int n, const PixelFn& f = pixel) {
  std::vector<unsigned char> out(static_cast<std::size_t>(n) * 3 * kPlane);
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c)
      for (int x = 0; x < kSide; ++x)
        for (int y = 0; y < kSide; ++y)
          out[static_cast<std::size_t>(i) * 3 * kPlane + c * kPlane + x * kSide + y] = f(first_id + i, c, y, x);
  return out;
}

void check_images(const torch::Tensor& t, int first_id, int n) {
  REQUIRE(t.sizes() == torch::IntArrayRef({n, 3, 96, 96}));
  REQUIRE(t.scalar_type() == torch::kUInt8);
  auto a = t.accessor<std::uint8_t, 4>();
  std::int64_t wrong = 0;
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < kSide; ++y)
        for (int x = 0; x < kSide; ++x)
          if (a[i][c][y][x] != pixel(first_id + i, c, y, x)) ++wrong;
  CHECK(wrong == 0);
}

// An image of one channel plane repeated: value v(y, x) in every channel.
torch::Tensor plane_image(std::int64_t side, const std::function<int(int, int)>& v) {
  torch::Tensor t = torch::empty({1, 3, side, side}, torch::kUInt8);
  auto a = t.accessor<std::uint8_t, 4>();
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x) a[0][c][y][x] = static_cast<std::uint8_t>(v(y, x));
  return t;
}

// u / 127.5 - 1 computed as the reader does (float32 tensor arithmetic).
float scaled(int u) { return torch::full({1}, static_cast<float>(u)).div_(127.5).sub_(1.0).item<float>(); }

}  // namespace

TEST_CASE("STL-10 reader: column-major planes are transposed to H x W", "[stl10]") {
  TempDir tmp;
  const std::string dir = tmp.str();
  write_file(dir + "/train_X.bin", image_file(0, 3));
  const torch::Tensor t = read_stl10_images({dir + "/train_X.bin"});
  check_images(t, 0, 3);
  // One pixel by hand: image 1, green (c = 1), row 2, column 5 is file byte
  // 1 * 27648 + 1 * 9216 + 5 * 96 + 2, not 1 * 27648 + 1 * 9216 + 2 * 96 + 5.
  const std::vector<unsigned char> raw = image_file(0, 3);
  CHECK(t[1][1][2][5].item<int>() == raw[27648 + 9216 + 5 * 96 + 2]);
  CHECK(t[1][1][2][5].item<int>() == pixel(1, 1, 2, 5));
  CHECK(pixel(1, 1, 2, 5) != pixel(1, 1, 5, 2));  // the check tells the orders apart
}

TEST_CASE("STL-10 reader: train+unlabeled in order, counts and limits across files", "[stl10]") {
  TempDir tmp;
  const std::string dir = tmp.str();
  write_file(dir + "/train_X.bin", image_file(0, 3));
  write_file(dir + "/unlabeled_X.bin", image_file(3, 4));
  const std::vector<std::string> paths = stl10_train_unlabeled_paths(dir);
  REQUIRE(paths == std::vector<std::string>{dir + "/train_X.bin", dir + "/unlabeled_X.bin"});
  CHECK(stl10_train_labels_path(dir) == dir + "/train_y.bin");
  CHECK(count_stl10_images(paths) == 7);
  CHECK(count_stl10_images(paths, 5) == 5);
  CHECK(count_stl10_images(paths, 100) == 7);
  check_images(read_stl10_images(paths), 0, 7);
  check_images(read_stl10_images(paths, 5), 0, 5);  // crosses the file boundary
  // A limit within the first file neither opens nor checks the second.
  std::filesystem::remove(dir + "/unlabeled_X.bin");
  CHECK(count_stl10_images(paths, 2) == 2);
  check_images(read_stl10_images(paths, 2), 0, 2);
  CHECK_THROWS_AS(count_stl10_images(paths, 4), std::runtime_error);
}

TEST_CASE("STL-10 reader: labels 1..10 become 0..9", "[stl10]") {
  TempDir tmp;
  const std::string path = tmp.str() + "/train_y.bin";
  write_file(path, {1, 2, 3, 10, 5, 7});
  const torch::Tensor y = read_stl10_labels(path);
  REQUIRE(y.scalar_type() == torch::kUInt8);
  CHECK(y.equal(torch::tensor({0, 1, 2, 9, 4, 6}, torch::kUInt8)));
  CHECK(read_stl10_labels(path, 3).equal(torch::tensor({0, 1, 2}, torch::kUInt8)));
  require_error([&] { read_stl10_labels(path, 7); }, {path, "holds 6 labels but 7 are needed"});
  write_file(path, {1, 2, 0, 4});
  require_error([&] { read_stl10_labels(path); }, {path, "bad label 0 at byte 2", "expected 1..10"});
  write_file(path, {1, 11});
  require_error([&] { read_stl10_labels(path); }, {path, "bad label 11 at byte 1"});
}

TEST_CASE("STL-10 resize: Pillow's bilinear 96 -> 48 on patterns computed by hand", "[stl10]") {
  // A constant image stays constant (the fixed-point weights of every output pixel sum to 2^22,
  // the 3/7, 3/7, 1/7 edge weights included).
  for (int v : {0, 1, 137, 254, 255}) {
    const torch::Tensor out = resize_bilinear_like_pil(plane_image(96, [v](int, int) { return v; }), 48, 48);
    REQUIRE(out.sizes() == torch::IntArrayRef({1, 3, 48, 48}));
    REQUIRE(out.scalar_type() == torch::kUInt8);
    CHECK(out.eq(v).all().item<bool>());
  }
  // Odd columns 200, even columns 0. Reducing by 2, Pillow's triangle filter spans 4 inputs with
  // weights 1/8, 3/8, 3/8, 1/8 (inputs 2i-1 .. 2i+2): interior 200 * (1/8 + 3/8) = 100; the edges
  // keep 3 of them, renormalised to 3/7, 3/7, 1/7: column 0 reads 0, 200, 0 -> 85.7 -> 86, column
  // 47 reads 200, 0, 200 with weights 1/7, 3/7, 3/7 -> 114.3 -> 114 (rounded half up).
  const auto check_stripes = [](const torch::Tensor& out, bool columns) {
    auto a = out.accessor<std::uint8_t, 4>();
    std::int64_t wrong = 0;
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 48; ++y)
        for (int x = 0; x < 48; ++x) {
          const int i = columns ? x : y;
          const int want = i == 0 ? 86 : (i == 47 ? 114 : 100);
          if (a[0][c][y][x] != want) ++wrong;
        }
    CHECK(wrong == 0);
  };
  check_stripes(resize_bilinear_like_pil(plane_image(96, [](int, int x) { return x % 2 ? 200 : 0; }), 48, 48), true);
  check_stripes(resize_bilinear_like_pil(plane_image(96, [](int y, int) { return y % 2 ? 200 : 0; }), 48, 48), false);

  // A checkerboard of 2 x 2 blocks (160 and 0). Horizontal pass: a 160 block gives
  // 3/4 * 160 = 120, a 0 block 2 * 1/8 * 160 = 40; vertical pass: 3/4 * 120 + 2 * 1/8 * 40 = 100
  // on the 160 blocks, 3/4 * 40 + 2 * 1/8 * 120 = 60 on the 0 blocks (interior pixels).
  const torch::Tensor board =
      resize_bilinear_like_pil(plane_image(96, [](int y, int x) { return ((y / 2 + x / 2) % 2) ? 160 : 0; }), 48, 48);
  auto b = board.accessor<std::uint8_t, 4>();
  std::int64_t wrong = 0;
  for (int y = 1; y < 47; ++y)
    for (int x = 1; x < 47; ++x)
      if (b[0][2][y][x] != (((y + x) % 2) ? 100 : 60)) ++wrong;
  CHECK(wrong == 0);

  // Other sizes: an unchanged axis is copied, a non-contiguous input is accepted.
  const torch::Tensor ramp = plane_image(96, [](int y, int x) { return (y + 2 * x) % 256; });
  CHECK(resize_bilinear_like_pil(ramp, 96, 96).equal(ramp));
  const torch::Tensor half_w = resize_bilinear_like_pil(ramp, 96, 48);
  CHECK(half_w.sizes() == torch::IntArrayRef({1, 3, 96, 48}));
  CHECK(resize_bilinear_like_pil(ramp.transpose(2, 3), 48, 48)
            .equal(resize_bilinear_like_pil(ramp.transpose(2, 3).contiguous(), 48, 48)));
  CHECK_THROWS_AS(resize_bilinear_like_pil(ramp.to(torch::kFloat32), 48, 48), std::invalid_argument);
}

TEST_CASE("STL-10 reader: read_stl10_scaled resizes to 48 and scales to [-1, 1]", "[stl10]") {
  TempDir tmp;
  const std::string dir = tmp.str();
  // Image 0 all 0, image 1 all 255, image 2 all 137, image 3 stripes (odd columns 200).
  const PixelFn f = [](int id, int, int, int x) -> std::uint8_t {
    if (id == 0) return 0;
    if (id == 1) return 255;
    if (id == 2) return 137;
    return x % 2 ? 200 : 0;
  };
  write_file(dir + "/train_X.bin", image_file(0, 2, f));
  write_file(dir + "/unlabeled_X.bin", image_file(2, 2, f));
  const torch::Tensor x = read_stl10_scaled(stl10_train_unlabeled_paths(dir), 48);
  REQUIRE(x.sizes() == torch::IntArrayRef({4, 3, 48, 48}));
  REQUIRE(x.scalar_type() == torch::kFloat32);
  CHECK(x[0].eq(-1.0).all().item<bool>());
  CHECK(x[1].eq(1.0).all().item<bool>());
  CHECK(x[2].eq(scaled(137)).all().item<bool>());
  CHECK(scaled(137) == Approx(137.0 / 127.5 - 1.0));
  CHECK(x[3][1][10][10].item<float>() == Approx(100.0 / 127.5 - 1.0));
  CHECK(x[3][0][10][0].item<float>() == Approx(86.0 / 127.5 - 1.0));
  // Exactly the bytes of the uint8 path, scaled like the other GAN data sets.
  const torch::Tensor bytes = resize_bilinear_like_pil(read_stl10_images(stl10_train_unlabeled_paths(dir)), 48, 48);
  CHECK(x.equal(bytes.to(torch::kFloat32).div_(127.5).sub_(1.0)));
  CHECK(read_stl10_scaled(stl10_train_unlabeled_paths(dir), 48, 3).sizes() == torch::IntArrayRef({3, 3, 48, 48}));
}

TEST_CASE("STL-10 reader: bad files give errors naming the file and the fix", "[stl10]") {
  TempDir tmp;
  const std::string dir = tmp.str();
  const std::vector<std::string> paths = stl10_train_unlabeled_paths(dir);
  // Missing folder.
  require_error([&] { count_stl10_images(stl10_train_unlabeled_paths(dir + "/nowhere")); },
                {dir + "/nowhere/train_X.bin", "file not found", "does not exist", "stl10_binary.tar.gz",
                 "https://cs.stanford.edu/~acoates/stl10/", "gan.data_dir"});
  // Missing file in an existing folder.
  require_error([&] { read_stl10_images(paths); }, {dir + "/train_X.bin", "file not found", "gan.data_dir"});
  // The parent of stl10_binary, and the unextracted archive.
  std::filesystem::create_directory(dir + "/stl10_binary");
  require_error([&] { read_stl10_images(paths); }, {"stl10_binary subfolder", dir + "/stl10_binary"});
  std::filesystem::remove(dir + "/stl10_binary");
  write_file(dir + "/stl10_binary.tar.gz", {0x1F, 0x8B, 8, 0});
  require_error([&] { read_stl10_images(paths); }, {"extract it first"});
  std::filesystem::remove(dir + "/stl10_binary.tar.gz");
  write_file(dir + "/train.mat", {'M', 'A', 'T', 'L', 'A', 'B'});
  require_error([&] { read_stl10_images(paths); }, {"*matlab* version"});
  std::filesystem::remove(dir + "/train.mat");
  // Wrong sizes: a truncated file, an empty one, a gzip archive renamed.
  std::vector<unsigned char> bytes = image_file(0, 2);
  bytes.resize(bytes.size() - 100);
  write_file(dir + "/train_X.bin", bytes);
  require_error([&] { read_stl10_images(paths); },
                {dir + "/train_X.bin", "size 55196 bytes is not a multiple of 27648 bytes", "stl10_binary.tar.gz"});
  require_error([&] { count_stl10_images(paths); }, {dir + "/train_X.bin", "not a multiple of 27648"});
  require_error([&] { read_stl10_scaled(paths, 48); }, {dir + "/train_X.bin", "not a multiple of 27648"});
  write_file(dir + "/train_X.bin", {});
  require_error([&] { read_stl10_images(paths); }, {dir + "/train_X.bin", "empty"});
  write_file(dir + "/train_X.bin", {0x1F, 0x8B, 8, 0, 0});
  require_error([&] { read_stl10_images(paths); }, {dir + "/train_X.bin", "gzip-compressed"});
  // A folder where a file is expected.
  write_file(dir + "/train_X.bin", image_file(0, 1));
  std::filesystem::create_directory(dir + "/unlabeled_X.bin");
  require_error([&] { read_stl10_images(paths); }, {dir + "/unlabeled_X.bin", "is a directory"});
  require_error([&] { read_stl10_labels(dir + "/train_y.bin"); }, {dir + "/train_y.bin", "file not found"});
  CHECK_THROWS_AS(read_stl10_images({}), std::runtime_error);
}

TEST_CASE("STL-10 reader on the real data set (when present)", "[stl10]") {
  const char* env = std::getenv("PBTNAS_STL10_DIR");
  const std::string dir = env && *env ? std::string(env) : std::string(PBTNAS_SOURCE_DIR) + "/data/stl10_binary";
  if (!std::filesystem::exists(dir + "/train_X.bin") || !std::filesystem::exists(dir + "/unlabeled_X.bin")) {
    WARN("SKIPPED: no STL-10 binary files in " + dir +
         " (set PBTNAS_STL10_DIR to an extracted stl10_binary folder to run this test)");
    return;
  }
  const std::vector<std::string> paths = stl10_train_unlabeled_paths(dir);
  CHECK(count_stl10_images({paths[0]}) == 5000);
  CHECK(count_stl10_images({paths[1]}) == 100000);
  CHECK(count_stl10_images(paths) == 105000);
  const torch::Tensor y = read_stl10_labels(stl10_train_labels_path(dir));
  CHECK(y.size(0) == 5000);
  CHECK(y.max().item<int>() == 9);
  const torch::Tensor x = read_stl10_scaled(paths, 48, 16);
  CHECK(x.sizes() == torch::IntArrayRef({16, 3, 48, 48}));
  CHECK(x.min().item<float>() >= -1.0f);
  CHECK(x.max().item<float>() <= 1.0f);
  CHECK(x.std().item<float>() > 0.1f);
}
