// format: hdf5 of the classification task: the HDF5 layer's dataset reader (io/h5_array.hpp), installed
// as the tasks' HDF5 reader, on files written like h5py writes them.
#include <catch2/catch.hpp>
#include <hdf5.h>

#include <fstream>
#include <string>
#include <vector>

#include "pbtnas/core/seed.hpp"
#include "pbtnas/index/h5_array.hpp"
#include "pbtnas/tasks/classify/classify.hpp"
#include "support/temp_dir.hpp"

using namespace pbtnas;
using pbtnas::test::TempDir;

namespace {

template <typename Fn>
void require_error(Fn f, const std::vector<std::string>& parts) {
  try {
    f();
    FAIL("expected std::runtime_error");
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    INFO(msg);
    for (const auto& p : parts) CHECK(msg.find(p) != std::string::npos);
  }
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

void write_h5(const std::string& path, const Synthetic& s, int n, int h, int w, std::int64_t label_rows = -1,
              const char* images = "images") {
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(f >= 0);
  hsize_t dims[4] = {hsize_t(n), hsize_t(h), hsize_t(w), 3};
  hid_t sp = H5Screate_simple(4, dims, nullptr);
  hid_t d = H5Dcreate2(f, images, H5T_STD_U8LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, s.nhwc.data());
  H5Dclose(d);
  H5Sclose(sp);
  hsize_t ln = label_rows >= 0 ? hsize_t(label_rows) : hsize_t(n);
  sp = H5Screate_simple(1, &ln, nullptr);
  d = H5Dcreate2(f, "labels", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, s.labels.data());
  H5Dclose(d);
  H5Sclose(sp);
  H5Fclose(f);
}

ClassifyOptions h5_config(const std::string& train, const std::string& test) {
  ClassifyOptions cfg;
  cfg.channels = 4;
  cfg.cells_per_stage = 1;
  cfg.batch_size = 16;
  cfg.data.format = "hdf5";
  cfg.data.dir = "";
  cfg.data.train = train;
  cfg.data.test = test;
  cfg.data.val_fraction = 0.2;
  cfg.data.share = false;
  return cfg;
}

}  // namespace

TEST_CASE("h5 array: a dataset with a row limit, element types", "[io][h5_array]") {
  TempDir dir;
  const Synthetic s = synthetic(10, 4, 5, 3, 1);
  write_h5(dir / "d.h5", s, 10, 4, 5);
  const RawArray a = io::read_h5_array(dir / "d.h5", "images", 3);
  CHECK(a.type == ElementType::U8);
  CHECK(a.shape == std::vector<std::int64_t>{3, 4, 5, 3});
  CHECK(a.stored_rows == 10);
  CHECK(a.bytes == std::vector<unsigned char>(s.nhwc.begin(), s.nhwc.begin() + 3 * 4 * 5 * 3));
  const RawArray l = io::read_h5_array(dir / "d.h5", "labels", 0);
  CHECK(l.type == ElementType::I64);
  CHECK(l.shape == std::vector<std::int64_t>{10});
}

TEST_CASE("h5 array: a classify task on an HDF5 data set (h5py layout) with a separate test file", "[io][h5_array]") {
  io::install_hdf5_array_reader();
  TempDir dir;
  const Synthetic train = synthetic(50, 6, 6, 5, 4), test = synthetic(20, 6, 6, 5, 5);
  write_h5(dir / "train.h5", train, 50, 6, 6);
  write_h5(dir / "test.h5", test, 20, 6, 6);
  ClassifyOptions cfg = h5_config(dir / "train.h5", dir / "test.h5");
  const ClassifyTask task(cfg, 9);
  CHECK(task.classes() == 5);
  CHECK(task.input_channels() == 3);
  CHECK(task.image_height() == 6);
  CHECK(task.val_size() == 10);
  CHECK(task.train_size() == 40);
  CHECK(task.test_size() == 20);
  cfg.data.train_limit = 25;
  CHECK(ClassifyTask(cfg, 9).val_size() == 5);

  SECTION("mismatched counts") {
    write_h5(dir / "bad.h5", train, 50, 6, 6, 49);
    cfg.data.train = dir / "bad.h5";
    require_error([&] { ClassifyTask(cfg, 1); }, {"bad.h5:images", "50 images", "49 labels"});
  }
  SECTION("missing dataset") {
    write_h5(dir / "named.h5", train, 50, 6, 6, -1, "x");
    cfg.data.train = dir / "named.h5";
    require_error([&] { ClassifyTask(cfg, 1); }, {"named.h5", "no dataset 'images'", "labels, x", "images_key"});
  }
  SECTION("not HDF5, missing") {
    std::ofstream(dir / "text.h5") << "hi";
    cfg.data.train = dir / "text.h5";
    require_error([&] { ClassifyTask(cfg, 1); }, {"text.h5", "not an HDF5 file"});
    cfg.data.train = dir / "absent.h5";
    require_error([&] { ClassifyTask(cfg, 1); }, {"absent.h5", "does not exist"});
  }
  SECTION("test images of another size") {
    write_h5(dir / "test8.h5", synthetic(20, 8, 8, 5, 5), 20, 8, 8);
    cfg.data.test = dir / "test8.h5";
    require_error([&] { ClassifyTask(cfg, 1); }, {"train.h5:images", "test8.h5:images", "one size"});
  }
}

