// CIFAR-10 binary reader: batch files written by the test (distinct R, G, B planes per record),
// limits across file boundaries, the training folder layout, and every documented error.
#include "pbtnas/tasks/cifar10.hpp"

#include <catch2/catch.hpp>
#include "support/skip.hpp"
#include <cstdlib>
#include <filesystem>

#include "task_test_util.hpp"

using namespace pbtnas;
using pbtnas::test::TempDir;
using pbtnas::test::write_file;

using pbtnas::test::require_error;

namespace {

constexpr std::int64_t kRecord = 3073;

// Pixel of global record `id`, channel c (0 R, 1 G, 2 B), row y, column x: every plane differs.
std::uint8_t pixel(int id, int c, int y, int x) {
  return static_cast<std::uint8_t>((id * 71 + c * 97 + y * 5 + x * 3 + (c == 2 ? y * x : 0)) % 256);
}

std::uint8_t label_of(int id) { return static_cast<std::uint8_t>((id * 3 + 1) % 10); }

// Bytes of a batch file holding records first_id .. first_id + n - 1.
std::vector<unsigned char> batch(int first_id, int n) {
  std::vector<unsigned char> out;
  for (int id = first_id; id < first_id + n; ++id) {
    out.push_back(label_of(id));
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) out.push_back(pixel(id, c, y, x));
  }
  return out;
}

// Checks that data holds records first_id .. first_id + n - 1, exactly.
void check_records(const Cifar10Data& data, int first_id, int n) {
  REQUIRE(data.images.sizes() == torch::IntArrayRef({n, 3, 32, 32}));
  REQUIRE(data.labels.sizes() == torch::IntArrayRef({n}));
  REQUIRE(data.images.scalar_type() == torch::kUInt8);
  REQUIRE(data.labels.scalar_type() == torch::kUInt8);
  auto img = data.images.accessor<std::uint8_t, 4>();
  auto lab = data.labels.accessor<std::uint8_t, 1>();
  std::int64_t wrong = 0;
  for (int i = 0; i < n; ++i) {
    const int id = first_id + i;
    CHECK(lab[i] == label_of(id));
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x)
          if (img[i][c][y][x] != pixel(id, c, y, x)) ++wrong;
  }
  CHECK(wrong == 0);
}


}  // namespace

TEST_CASE("cifar10: reads records, labels and channel planes exactly, in file order",
          "[cifar10]") {
  TempDir dir;
  write_file(dir.file("a.bin"), batch(0, 3));
  write_file(dir.file("b.bin"), batch(3, 2));
  REQUIRE(batch(0, 3).size() == 3 * kRecord);
  const Cifar10Data data = read_cifar10_files({dir.file("a.bin"), dir.file("b.bin")});
  check_records(data, 0, 5);

  // The layout in words: record 1, green plane, row 2, column 7 is byte 1 + 1024 + 2 * 32 + 7.
  const auto bytes = batch(0, 3);
  CHECK(data.images[1][1][2][7].item<int>() == bytes[kRecord + 1 + 1024 + 2 * 32 + 7]);
  CHECK(data.images[2][2][31][31].item<int>() == bytes[3 * kRecord - 1]);
  CHECK(data.images[0][0][0][0].item<int>() == bytes[1]);
  CHECK(data.labels[2].item<int>() == bytes[2 * kRecord]);

  // Order follows the list.
  check_records(read_cifar10_files({dir.file("b.bin")}), 3, 2);
  const Cifar10Data swapped = read_cifar10_files({dir.file("b.bin"), dir.file("a.bin")});
  CHECK(swapped.images.narrow(0, 0, 2).equal(data.images.narrow(0, 3, 2)));
  CHECK(swapped.images.narrow(0, 2, 3).equal(data.images.narrow(0, 0, 3)));
  CHECK(swapped.labels.narrow(0, 2, 3).equal(data.labels.narrow(0, 0, 3)));
}

TEST_CASE("cifar10: a limit stops within or across file boundaries", "[cifar10]") {
  TempDir dir;
  write_file(dir.file("a.bin"), batch(0, 3));
  write_file(dir.file("b.bin"), batch(3, 2));
  const std::vector<std::string> paths{dir.file("a.bin"), dir.file("b.bin")};
  check_records(read_cifar10_files(paths, 2), 0, 2);
  check_records(read_cifar10_files(paths, 3), 0, 3);
  check_records(read_cifar10_files(paths, 4), 0, 4);
  check_records(read_cifar10_files(paths, 5), 0, 5);
  check_records(read_cifar10_files(paths, 100), 0, 5);  // more than there is: all
  check_records(read_cifar10_files(paths, 0), 0, 5);

  // Files after the limit are not touched: a missing third file does not matter.
  const std::vector<std::string> with_missing{paths[0], paths[1], dir.file("missing.bin")};
  check_records(read_cifar10_files(with_missing, 5), 0, 5);
  require_error([&] { read_cifar10_files(with_missing, 6); }, {dir.file("missing.bin")});
}

TEST_CASE("cifar10: the training folder data_batch_1..5.bin", "[cifar10]") {
  TempDir dir;
  const std::vector<int> sizes{3, 1, 2, 4, 2};
  int first = 0;
  for (int i = 0; i < 5; ++i) {
    write_file(dir.file("data_batch_" + std::to_string(i + 1) + ".bin"), batch(first, sizes[i]));
    first += sizes[i];
  }
  write_file(dir.file("test_batch.bin"), batch(100, 3));
  check_records(read_cifar10_train(dir.str()), 0, 12);
  check_records(read_cifar10_train(dir.str() + "/"), 0, 12);
  check_records(read_cifar10_train(dir.str(), 5), 0, 5);
  check_records(read_cifar10_test(dir.str()), 100, 3);
  check_records(read_cifar10_test(dir.str(), 2), 100, 2);
  CHECK(cifar10_train_paths("/d") ==
        std::vector<std::string>{"/d/data_batch_1.bin", "/d/data_batch_2.bin",
                                 "/d/data_batch_3.bin", "/d/data_batch_4.bin",
                                 "/d/data_batch_5.bin"});

  // Only the files the limit needs are opened: without batches 3..5 a limit of 4 still works.
  for (int i = 3; i <= 5; ++i)
    std::filesystem::remove(dir.file("data_batch_" + std::to_string(i) + ".bin"));
  check_records(read_cifar10_train(dir.str(), 4), 0, 4);
  require_error([&] { read_cifar10_train(dir.str(), 5); },
                {dir.file("data_batch_3.bin"), "not found", "binary", "gan.data_dir",
                 "cifar-10-batches-bin", "https://www.cs.toronto.edu/~kriz/cifar.html"});
  require_error([&] { read_cifar10_train(dir.str()); }, {dir.file("data_batch_3.bin")});
}

TEST_CASE("cifar10: missing folders and files name the path and the fix", "[cifar10]") {
  TempDir dir;
  const std::string nowhere = dir.file("nowhere");
  require_error([&] { read_cifar10_train(nowhere); },
                {nowhere, "not found", "binary", "cifar-10-binary.tar.gz", "gan.data_dir",
                 "cifar-10-batches-bin"});
  require_error([&] { read_cifar10_files({dir.file("x.bin")}); },
                {dir.file("x.bin"), "not found", "binary", "gan.data_dir"});
  require_error([&] { read_cifar10_train(dir.str()); },
                {dir.file("data_batch_1.bin"), "not found", "python or matlab"});
  require_error([&] { read_cifar10_train(""); }, {"gan.data_dir"});
  require_error([&] { read_cifar10_files({}); }, {"no files"});

  // The python version: data_batch_1 (a pickle) without .bin.
  TempDir py;
  write_file(py.file("data_batch_1"), {0x80, 0x02, '}', 'q', 0x01, '('});
  write_file(py.file("batches.meta"), {0x80, 0x02});
  require_error([&] { read_cifar10_train(py.str()); },
                {py.file("data_batch_1.bin"), "not found", "python", "pickle", "binary"});
  // The python file passed directly: wrong size, recognised as a pickle.
  require_error([&] { read_cifar10_files({py.file("data_batch_1")}); },
                {py.file("data_batch_1"), "3073", "pickle"});

  // The matlab version.
  TempDir mat;
  write_file(mat.file("data_batch_1.mat"), {'M', 'A', 'T', 'L', 'A', 'B', ' ', '5'});
  require_error([&] { read_cifar10_train(mat.str()); }, {mat.file("data_batch_1.bin"), "matlab"});
  require_error([&] { read_cifar10_files({mat.file("data_batch_1.mat")}); },
                {mat.file("data_batch_1.mat"), "matlab"});

  // The parent of cifar-10-batches-bin, and an unextracted archive.
  TempDir parent;
  std::filesystem::create_directories(parent.file("cifar-10-batches-bin"));
  require_error([&] { read_cifar10_train(parent.str()); },
                {parent.file("data_batch_1.bin"), parent.file("cifar-10-batches-bin")});
  TempDir archive;
  write_file(archive.file("cifar-10-binary.tar.gz"), {0x1F, 0x8B, 8, 0});
  require_error([&] { read_cifar10_train(archive.str()); }, {"extract", "tar xzf"});

  // A file given as the folder, a folder given as a file.
  write_file(dir.file("plain"), batch(0, 1));
  require_error([&] { read_cifar10_train(dir.file("plain")); },
                {dir.file("plain"), "not a folder"});
  require_error([&] { read_cifar10_files({dir.str()}); }, {dir.str(), "directory"});
}

TEST_CASE("cifar10: truncated files and bad labels name the file", "[cifar10]") {
  TempDir dir;
  auto bytes = batch(0, 3);
  bytes.resize(bytes.size() - 100);
  write_file(dir.file("cut.bin"), bytes);
  write_file(dir.file("good.bin"), batch(0, 2));
  require_error([&] { read_cifar10_files({dir.file("good.bin"), dir.file("cut.bin")}); },
                {dir.file("cut.bin"), std::to_string(3 * kRecord - 100), "3073", "truncated"});
  // ... even when a limit would stop inside the readable part of the file.
  require_error([&] { read_cifar10_files({dir.file("cut.bin")}, 1); }, {dir.file("cut.bin")});

  write_file(dir.file("empty.bin"), {});
  require_error([&] { read_cifar10_files({dir.file("empty.bin")}); },
                {dir.file("empty.bin"), "empty"});

  // CIFAR-100 binary records (3074 bytes: coarse and fine label).
  write_file(dir.file("train.bin"), std::vector<unsigned char>(3074 * 2, 1));
  require_error([&] { read_cifar10_files({dir.file("train.bin")}); },
                {dir.file("train.bin"), "CIFAR-100"});

  // A label byte > 9 in the third record of the second file.
  auto bad = batch(2, 3);
  bad[2 * kRecord] = 10;
  write_file(dir.file("bad.bin"), bad);
  require_error([&] { read_cifar10_files({dir.file("good.bin"), dir.file("bad.bin")}); },
                {dir.file("bad.bin"), "bad label 10", "record 2",
                 "offset " + std::to_string(2 * kRecord), "0..9"});
  // Records before the bad one are fine with a limit that stops before it.
  check_records(read_cifar10_files({dir.file("good.bin"), dir.file("bad.bin")}, 4), 0, 4);
  bad[2 * kRecord] = 255;
  write_file(dir.file("bad.bin"), bad);
  require_error([&] { read_cifar10_files({dir.file("bad.bin")}); }, {dir.file("bad.bin"), "255"});
}

// The real data set when a copy is found (e.g. PBTNAS_CIFAR10_DIR=.../cifar-10-batches-bin).
TEST_CASE("cifar10: the real data set, when present", "[cifar10][data]") {
  const char* env = std::getenv("PBTNAS_CIFAR10_DIR");
  const std::string dir = env ? env : "";
  if (dir.empty() || !std::filesystem::exists(dir + "/data_batch_1.bin")) {
    PBTNAS_SKIP("CIFAR-10 binary version not found (set PBTNAS_CIFAR10_DIR to a cifar-10-batches-bin folder)");
  }
  const Cifar10Data train = read_cifar10_train(dir);
  CHECK(train.images.size(0) == 50000);
  CHECK(torch::bincount(train.labels.to(torch::kInt64)).equal(
      torch::full({10}, 5000, torch::kInt64)));
  const Cifar10Data test = read_cifar10_test(dir);
  CHECK(test.images.size(0) == 10000);
}
