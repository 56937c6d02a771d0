// The classification task's data formats on files the tests write: NumPy .npy / .npz and image
// folders (PNG and JPEG), and the task built on each (channels, classes, splits, normalisation).
// HDF5 data sets: test/unit/io/h5_array_test.cpp (the HDF5 reader belongs to the io layer).
#include <catch2/catch.hpp>
#include <stb/stb_image_write.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "pbtnas/tasks/classify/classify.hpp"
#include "pbtnas/tasks/classify/classify_data.hpp"
#include "pbtnas/tasks/image_files.hpp"
#include "pbtnas/util/png.hpp"
#include "task_test_util.hpp"

using namespace pbtnas;
using pbtnas::test::TempDir;
using pbtnas::test::require_error;

namespace {

// ---- writers of the formats, as the Python tools lay them out ----

std::vector<unsigned char> npy_bytes(const std::string& descr, const std::vector<std::int64_t>& shape,
                                     const void* data, std::size_t bytes, bool fortran = false) {
  std::string dims;
  for (auto d : shape) dims += std::to_string(d) + ", ";
  if (shape.size() > 1) dims.erase(dims.size() - 2);
  std::string header = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                       ", 'shape': (" + dims + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::vector<unsigned char> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                    static_cast<unsigned char>(header.size() & 0xff),
                                    static_cast<unsigned char>(header.size() >> 8)};
  out.insert(out.end(), header.begin(), header.end());
  const auto* p = static_cast<const unsigned char*>(data);
  out.insert(out.end(), p, p + bytes);
  return out;
}

void put16(std::vector<unsigned char>& o, std::uint32_t v) {
  o.push_back(v & 0xff);
  o.push_back((v >> 8) & 0xff);
}
void put32(std::vector<unsigned char>& o, std::uint32_t v) {
  put16(o, v & 0xffff);
  put16(o, v >> 16);
}

// A zip archive as np.savez (stored) or np.savez_compressed (deflated) writes it.
std::vector<unsigned char> zip_bytes(const std::vector<std::pair<std::string, std::vector<unsigned char>>>& members,
                                     bool compressed) {
  std::vector<unsigned char> out, cd;
  for (const auto& [name, data] : members) {
    std::vector<unsigned char> body = data;
    if (compressed) {
      body.resize(compressBound(static_cast<uLong>(data.size())) + 64);
      z_stream z{};
      deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
      z.next_in = const_cast<unsigned char*>(data.data());
      z.avail_in = static_cast<uInt>(data.size());
      z.next_out = body.data();
      z.avail_out = static_cast<uInt>(body.size());
      REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
      body.resize(z.total_out);
      deflateEnd(&z);
    }
    const auto crc = static_cast<std::uint32_t>(crc32(0, data.data(), static_cast<uInt>(data.size())));
    const auto offset = static_cast<std::uint32_t>(out.size());
    put32(out, 0x04034b50); put16(out, 20); put16(out, 0); put16(out, compressed ? 8 : 0); put16(out, 0); put16(out, 0);
    put32(out, crc); put32(out, static_cast<std::uint32_t>(body.size())); put32(out, static_cast<std::uint32_t>(data.size()));
    put16(out, static_cast<std::uint32_t>(name.size())); put16(out, 0);
    out.insert(out.end(), name.begin(), name.end());
    out.insert(out.end(), body.begin(), body.end());
    put32(cd, 0x02014b50); put16(cd, 20); put16(cd, 20); put16(cd, 0); put16(cd, compressed ? 8 : 0); put16(cd, 0);
    put16(cd, 0); put32(cd, crc); put32(cd, static_cast<std::uint32_t>(body.size()));
    put32(cd, static_cast<std::uint32_t>(data.size())); put16(cd, static_cast<std::uint32_t>(name.size()));
    put16(cd, 0); put16(cd, 0); put16(cd, 0); put16(cd, 0); put32(cd, 0); put32(cd, offset);
    cd.insert(cd.end(), name.begin(), name.end());
  }
  const auto cd_offset = static_cast<std::uint32_t>(out.size());
  out.insert(out.end(), cd.begin(), cd.end());
  put32(out, 0x06054b50); put16(out, 0); put16(out, 0);
  put16(out, static_cast<std::uint32_t>(members.size())); put16(out, static_cast<std::uint32_t>(members.size()));
  put32(out, static_cast<std::uint32_t>(cd.size())); put32(out, cd_offset); put16(out, 0);
  return out;
}

// A learnable RGB data set: class k's images are bright in channel k % 3, with a little noise.
struct Synthetic {
  std::vector<std::uint8_t> nhwc;  // N x H x W x 3
  std::vector<std::int64_t> labels;
};
Synthetic synthetic(int n, int h, int w, int classes, std::uint64_t seed) {
  Synthetic s;
  Rng rng(seed);
  for (int i = 0; i < n; ++i) {
    const int k = i % classes;
    s.labels.push_back(k);
    for (int p = 0; p < h * w; ++p)
      for (int c = 0; c < 3; ++c)
        s.nhwc.push_back(static_cast<std::uint8_t>((c == k % 3 ? 160 + 20 * (k / 3) : 40) + static_cast<int>(rng.below(31))));
  }
  return s;
}

void write_png(const std::string& path, int w, int h, int channels, std::uint8_t value) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w * h * channels), value);
  const std::string bytes = encode_png(w, h, channels, px.data());
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void write_jpg(const std::string& path, int w, int h, std::uint8_t value) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w * h * 3), value);
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  REQUIRE(stbi_write_jpg(path.c_str(), w, h, 3, px.data(), 95) != 0);
}

ClassifyOptions small_config(const std::string& format, const std::string& train, const std::string& test = "") {
  ClassifyOptions cfg;
  cfg.channels = 4;
  cfg.cells_per_stage = 1;
  cfg.batch_size = 16;
  cfg.data.format = format;
  cfg.data.dir = "";
  cfg.data.train = train;
  cfg.data.test = test;
  cfg.data.val_fraction = 0.2;
  cfg.data.share = false;
  return cfg;
}

}  // namespace

TEST_CASE("image data: npy arrays (uint8 NHWC, int64 labels, big-endian float, limit)", "[classify][data]") {
  TempDir dir;
  const Synthetic s = synthetic(6, 5, 7, 3, 1);
  test::write_file(dir / "images.npy", npy_bytes("|u1", {6, 5, 7, 3}, s.nhwc.data(), s.nhwc.size()));
  test::write_file(dir / "labels.npy", npy_bytes("<i8", {6}, s.labels.data(), s.labels.size() * 8));
  const RawArray a = read_npy(dir / "images.npy");
  CHECK(a.shape == std::vector<std::int64_t>{6, 5, 7, 3});
  const torch::Tensor x = images_from_array(a, "auto");
  REQUIRE(x.sizes() == torch::IntArrayRef({6, 3, 5, 7}));
  CHECK(x.scalar_type() == torch::kUInt8);
  CHECK(x[1][2][3][4].item<int>() == s.nhwc[((1 * 5 + 3) * 7 + 4) * 3 + 2]);
  CHECK(images_from_array(read_npy(dir / "images.npy", 2), "auto").size(0) == 2);
  CHECK(labels_from_array(read_npy(dir / "labels.npy")).equal(torch::tensor(s.labels)));

  const unsigned char be[8] = {0x3f, 0x80, 0, 0, 0x40, 0x00, 0, 0};  // 1.0f, 2.0f big-endian
  test::write_file(dir / "be.npy", npy_bytes(">f4", {2, 1, 1}, be, 8));
  const torch::Tensor f = images_from_array(read_npy(dir / "be.npy"), "auto");
  CHECK(f.scalar_type() == torch::kFloat32);
  CHECK(f.flatten()[1].item<float>() == 2.0f);

  test::write_file(dir / "fortran.npy", npy_bytes("|u1", {2, 2}, "abcd", 4, true));
  require_error([&] { read_npy(dir / "fortran.npy"); }, {dir / "fortran.npy", "ascontiguousarray"});
  test::write_file(dir / "floats.npy", npy_bytes("<f4", {2}, be, 8));
  require_error([&] { labels_from_array(read_npy(dir / "floats.npy")); }, {"floats.npy", "astype('int64')"});
  test::write_file(dir / "square.npy", npy_bytes("|u1", {1, 3, 3, 3}, s.nhwc.data(), 27));
  require_error([&] { images_from_array(read_npy(dir / "square.npy"), "auto"); }, {"square.npy", "classify.data.layout"});
  CHECK(images_from_array(read_npy(dir / "square.npy"), "nhwc").size(1) == 3);
}

TEST_CASE("image data: npz archives, stored and compressed", "[classify][data]") {
  TempDir dir;
  const Synthetic s = synthetic(8, 4, 4, 2, 2);
  const auto images = npy_bytes("|u1", {8, 4, 4, 3}, s.nhwc.data(), s.nhwc.size());
  const auto labels = npy_bytes("<i8", {8}, s.labels.data(), s.labels.size() * 8);
  for (bool compressed : {false, true}) {
    const std::string path = dir / (compressed ? "c.npz" : "s.npz");
    test::write_file(path, zip_bytes({{"images.npy", images}, {"labels.npy", labels}}, compressed));
    const RawArray a = read_npz(path, "images");
    CHECK(a.shape == std::vector<std::int64_t>{8, 4, 4, 3});
    CHECK(a.bytes == std::vector<unsigned char>(s.nhwc.begin(), s.nhwc.end()));
    CHECK(labels_from_array(read_npz(path, "labels", 3)).size(0) == 3);
    require_error([&] { read_npz(path, "x"); }, {path, "no array 'x'", "images.npy, labels.npy", "images_key"});
  }
  test::write_file(dir / "not.npz", std::vector<unsigned char>(100, 7));
  require_error([&] { read_npz(dir / "not.npz", "images"); }, {"not.npz", "np.savez"});
}

TEST_CASE("image data: a task on numpy data (npz, and a folder of .npy files) infers classes and channels",
          "[classify][data]") {
  TempDir dir;
  const Synthetic s = synthetic(60, 8, 8, 4, 3);
  const auto images = npy_bytes("|u1", {60, 8, 8, 3}, s.nhwc.data(), s.nhwc.size());
  const auto labels = npy_bytes("<i8", {60}, s.labels.data(), s.labels.size() * 8);
  test::write_file(dir / "train.npz", zip_bytes({{"images.npy", images}, {"labels.npy", labels}}, true));
  std::filesystem::create_directories(dir / "npyfolder");
  test::write_file(dir / "npyfolder/images.npy", images);
  test::write_file(dir / "npyfolder/labels.npy", labels);
  for (const std::string train : {dir / "train.npz", dir / "npyfolder"}) {
    ClassifyOptions cfg = small_config("numpy", train);
    const ClassifyTask task(cfg, 5);
    CHECK(task.classes() == 4);
    CHECK(task.input_channels() == 3);
    // no separate test set: val 12, test 6, train 42 of 60, disjoint, fixed by the seed
    CHECK(task.val_size() == 12);
    CHECK(task.test_size() == 6);
    CHECK(task.train_size() == 42);
    Member m = task.create(Genome(task.space().size(), 1), 3, torch::kCPU);
    CHECK(m.model->named_parameters()["head.weight"].size(0) == 4);
    CHECK(m.model->named_parameters()["stem.conv.weight"].size(1) == 3);
    const StepStats st = task.train(m, 0, 1, 11);
    CHECK(st.samples == 42);
    CHECK(std::isfinite(st.train_loss));
  }
  // labels out of range for a set class count; counts that differ
  ClassifyOptions cfg = small_config("numpy", dir / "train.npz");
  cfg.data.classes = 3;
  require_error([&] { ClassifyTask(cfg, 1); }, {"train.npz:labels", "label 3", "3 classes"});
  std::filesystem::create_directories(dir / "short");
  test::write_file(dir / "short/images.npy", images);
  test::write_file(dir / "short/labels.npy", npy_bytes("<i8", {59}, s.labels.data(), 59 * 8));
  cfg = small_config("numpy", dir / "short");
  require_error([&] { ClassifyTask(cfg, 1); }, {"short/images.npy", "60 images", "59 labels", "one label per image"});
}

TEST_CASE("image data: image folders (PNG and JPEG), classes from folder names", "[classify][data]") {
  TempDir dir;
  for (int i = 0; i < 6; ++i) {
    write_png(dir / ("train/cat/" + std::to_string(i) + ".png"), 9, 7, 3, 200);
    write_jpg(dir / ("train/dog/" + std::to_string(i) + ".JPG"), 9, 7, 60);
    write_png(dir / ("train/emu/" + std::to_string(i) + ".png"), 9, 7, 1, 120);  // grey
  }
  test::write_file(dir / "train/cat/notes.txt", {'x'});
  const ImageFolderSet f = read_image_folder(dir / "train");
  CHECK(f.class_names == std::vector<std::string>{"cat", "dog", "emu"});
  REQUIRE(f.images.sizes() == torch::IntArrayRef({18, 3, 7, 9}));
  CHECK(f.labels.slice(0, 0, 3).equal(torch::tensor({0, 1, 2}, torch::kInt64)));  // round-robin
  CHECK(f.images[0][1][3][4].item<int>() == 200);
  CHECK(std::abs(f.images[1][0][3][4].item<int>() - 60) <= 2);  // JPEG is lossy
  CHECK(f.images[2][2][0][0].item<int>() == 120);               // grey repeated to RGB
  const ImageFolderSet four = read_image_folder(dir / "train", 4);
  CHECK(four.labels.equal(torch::tensor({0, 1, 2, 0}, torch::kInt64)));

  write_png(dir / "test/dog/a.png", 9, 7, 3, 60);
  write_png(dir / "test/cat/a.png", 9, 7, 3, 200);
  ClassifyOptions cfg = small_config("folder", dir / "train", dir / "test");
  const ClassifyTask task(cfg, 2);
  CHECK(task.classes() == 3);
  CHECK(task.class_names()[2] == "emu");
  CHECK(task.test_size() == 2);

  SECTION("mixed sizes") {
    write_png(dir / "train/dog/zz.png", 8, 7, 3, 1);
    require_error([&] { read_image_folder(dir / "train"); }, {"zz.png", "8x7", "9x7", "one size"});
  }
  SECTION("an empty class") {
    std::filesystem::create_directories(dir / "train/fox");
    require_error([&] { ClassifyTask(cfg, 1); }, {dir / "train/fox", "no .png or .jpg"});
  }
  SECTION("a test class the training set does not have") {
    write_png(dir / "test/gnu/a.png", 9, 7, 3, 1);
    require_error([&] { ClassifyTask(cfg, 1); }, {dir / "test/gnu", "training folder does not have"});
  }
  SECTION("no class folders, a broken image") {
    std::filesystem::create_directories(dir / "flat");
    require_error([&] { read_image_folder(dir / "flat"); }, {"flat", "no class folders"});
    test::write_file(dir / "train/cat/broken.png", {'n', 'o'});
    require_error([&] { read_image_folder(dir / "train"); }, {"broken.png", "cannot be decoded"});
  }
}

TEST_CASE("image data: normalisation statistics computed once and cached with the node-shared data",
          "[classify][data]") {
  TempDir dir;
  const Synthetic s = synthetic(40, 6, 6, 4, 6);
  std::filesystem::create_directories(dir / "d");
  test::write_file(dir / "d/images.npy", npy_bytes("|u1", {40, 6, 6, 3}, s.nhwc.data(), s.nhwc.size()));
  test::write_file(dir / "d/labels.npy", npy_bytes("<i8", {40}, s.labels.data(), s.labels.size() * 8));
  ClassifyOptions cfg = small_config("numpy", dir / "d");
  cfg.data.share = true;
  cfg.data.cache_dir = dir / "cache";
  const ClassifyData data = load_classify_data(cfg.data);
  const InputNormalisation n = input_normalisation(cfg.data, data, dir / "cache");
  REQUIRE(n.mean.size() == 3);
  const torch::Tensor x = normalise_images(data.train_x, n);
  for (int c = 0; c < 3; ++c) {
    CHECK(x.select(1, c).mean().item<double>() == Approx(0.0).margin(1e-5));
    CHECK(x.select(1, c).std(false).item<double>() == Approx(1.0).epsilon(1e-4));
  }
  int stats = 0, tensors = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "cache")) {
    const std::string name = e.path().filename().string();
    stats += name.rfind("pbtnas-classify-stats-", 0) == 0 && name.size() > 7 && name.substr(name.size() - 7) == ".tensor";
  }
  CHECK(stats == 1);
  const ClassifyTask a(cfg, 4), b(cfg, 4);  // the second maps what the first wrote
  for (const auto& e : std::filesystem::directory_iterator(dir / "cache"))
    tensors += e.path().extension() == ".tensor";
  CHECK(tensors == 2);  // statistics + the normalised training images (no separate test set)
  ClassifyOptions own = cfg;
  own.data.share = false;
  const ClassifyTask c(own, 4);
  Member m = c.create(Genome(c.space().size(), 1), 1, torch::kCPU);
  CHECK(c.fitness(m) == a.fitness(m));
  CHECK(a.val_indices().equal(b.val_indices()));
}

TEST_CASE("image data: config keys are validated with the key and the fix", "[classify][data]") {
  ClassifyOptions cfg;
  cfg.data.format = "parquet";
  CHECK_THROWS_WITH(cfg.validate(), Catch::Contains("classify.data.format") && Catch::Contains("folder"));
  cfg.data.format = "hdf5";
  CHECK_THROWS_WITH(cfg.validate(), Catch::Contains("classify.data.train") && Catch::Contains(".h5"));
  cfg.data.format = "idx";
  cfg.data.train = "x.h5";
  CHECK_THROWS_WITH(cfg.validate(), Catch::Contains("classify.data.format"));
  cfg.data.train = "";
  cfg.data.classes = 1;
  CHECK_THROWS_WITH(cfg.validate(), Catch::Contains("classify.data.classes"));
}
