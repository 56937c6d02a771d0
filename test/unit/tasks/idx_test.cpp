// IDX reader: plain and gzipped files written by the test, and every documented error.
#include "pbtnas/tasks/idx.hpp"

#include <catch2/catch.hpp>

#include "task_test_util.hpp"

using namespace pbtnas;
using pbtnas::test::idx_bytes;
using pbtnas::test::TempDir;
using pbtnas::test::write_file;

using pbtnas::test::require_error;

namespace {

std::vector<unsigned char> ramp(std::size_t n) {
  std::vector<unsigned char> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<unsigned char>((i * 7) % 256);
  return v;
}


}  // namespace

TEST_CASE("idx: reads plain and gzipped images and labels", "[idx]") {
  TempDir dir;
  const auto pixels = ramp(5 * 3 * 4);
  const std::vector<unsigned char> labels{0, 9, 3, 3, 7};
  for (const std::string ext : {"", ".gz"}) {
    const std::string images_path = dir.file("img" + ext), labels_path = dir.file("lab" + ext);
    write_file(images_path, idx_bytes(kIdxImagesMagic, {5, 3, 4}, pixels));
    write_file(labels_path, idx_bytes(kIdxLabelsMagic, {5}, labels));
    const IdxArray a = read_idx(images_path, kIdxImagesMagic);
    CHECK(a.path == images_path);
    CHECK(a.magic == kIdxImagesMagic);
    CHECK(a.dims == std::vector<std::int64_t>{5, 3, 4});
    REQUIRE(a.data.sizes() == torch::IntArrayRef({5, 3, 4}));
    CHECK(a.data.scalar_type() == torch::kUInt8);
    CHECK(std::equal(pixels.begin(), pixels.end(), a.data.data_ptr<std::uint8_t>()));

    const IdxImages both = read_idx_images(images_path, labels_path);
    REQUIRE(both.labels.sizes() == torch::IntArrayRef({5}));
    CHECK(std::equal(labels.begin(), labels.end(), both.labels.data_ptr<std::uint8_t>()));
    CHECK(both.images.equal(a.data));
  }
}

TEST_CASE("idx: a limit reads only the first records", "[idx]") {
  TempDir dir;
  const auto pixels = ramp(6 * 2 * 2);
  write_file(dir.file("img.gz"), idx_bytes(kIdxImagesMagic, {6, 2, 2}, pixels));
  write_file(dir.file("lab.gz"), idx_bytes(kIdxLabelsMagic, {6}, {1, 2, 3, 4, 5, 6}));
  const IdxImages three = read_idx_images(dir.file("img.gz"), dir.file("lab.gz"), 3);
  CHECK(three.images.size(0) == 3);
  CHECK(three.labels.size(0) == 3);
  CHECK(std::equal(pixels.begin(), pixels.begin() + 12, three.images.data_ptr<std::uint8_t>()));
  CHECK(three.labels[2].item<int>() == 3);
  // A limit beyond the file reads all of it.
  CHECK(read_idx(dir.file("lab.gz"), kIdxLabelsMagic, 100).data.size(0) == 6);
}

TEST_CASE("idx: a missing file names the path and where the data comes from", "[idx]") {
  TempDir dir;
  const std::string path = dir.file("no-such-file.gz");
  require_error([&] { read_idx(path, kIdxImagesMagic); },
                {path, "not found", "dataset-fashion-mnist", "data.dir"});
}

TEST_CASE("idx: a bad magic number is rejected", "[idx]") {
  TempDir dir;
  const std::string path = dir.file("labels-as-images.gz");
  write_file(path, idx_bytes(kIdxLabelsMagic, {3}, {1, 2, 3}));
  require_error([&] { read_idx(path, kIdxImagesMagic); },
                {path, "magic", "0x00000801", "0x00000803"});
  const std::string junk = dir.file("junk");
  write_file(junk, {'h', 'e', 'l', 'l', 'o', '!', '!', '!'});
  require_error([&] { read_idx(junk, kIdxLabelsMagic); }, {junk, "magic"});
}

TEST_CASE("idx: truncated files are rejected", "[idx]") {
  TempDir dir;
  for (const std::string ext : {"", ".gz"}) {
    // Payload shorter than the header says.
    const std::string short_payload = dir.file("short" + ext);
    auto bytes = idx_bytes(kIdxImagesMagic, {4, 5, 5}, ramp(4 * 25));
    bytes.resize(bytes.size() - 10);
    write_file(short_payload, bytes);
    require_error([&] { read_idx(short_payload, kIdxImagesMagic); }, {short_payload, "truncated"});
    // Header cut inside the dimensions.
    const std::string short_header = dir.file("header" + ext);
    write_file(short_header, {0, 0, 8, 3, 0, 0, 0, 4, 0, 0});
    require_error([&] { read_idx(short_header, kIdxImagesMagic); }, {short_header, "truncated"});
    // Empty file.
    const std::string empty = dir.file("empty" + ext);
    write_file(empty, {});
    require_error([&] { read_idx(empty, kIdxLabelsMagic); }, {empty, "truncated"});
  }
  // A gzip stream cut in the middle (the compressed file itself is truncated).
  const std::string gz = dir.file("cut.gz");
  write_file(gz, idx_bytes(kIdxImagesMagic, {50, 20, 20}, ramp(50 * 400)));
  auto raw = pbtnas::test::read_raw(gz);
  raw.resize(raw.size() / 2);
  write_file(dir.file("cut.raw"), raw);
  std::filesystem::rename(dir.file("cut.raw"), gz);
  try {
    read_idx(gz, kIdxImagesMagic);
    FAIL("expected std::runtime_error");
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find(gz) != std::string::npos);
    CHECK((msg.find("truncated") != std::string::npos || msg.find("corrupt") != std::string::npos));
  }
}

TEST_CASE("idx: image and label counts must match", "[idx]") {
  TempDir dir;
  write_file(dir.file("img"), idx_bytes(kIdxImagesMagic, {3, 2, 2}, ramp(12)));
  write_file(dir.file("lab"), idx_bytes(kIdxLabelsMagic, {4}, {0, 1, 2, 3}));
  // Caught from the headers even when a limit would read equal counts.
  for (std::int64_t limit : {0, 2})
    require_error([&] { read_idx_images(dir.file("img"), dir.file("lab"), limit); },
                  {dir.file("lab"), dir.file("img"), "4 labels", "3 images"});
}
