// Member files' storage layout: format 2 packing, large and compressed tensors, format 1 files
// still read, damaged state tables, the returned file entry and deferred sync, and the hidden
// timing benches (docs/checkpoint-format.md, docs/performance.md "Scale").
#include <hdf5.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <limits>

#include "unit/io/io_fixtures.hpp"

using namespace pbtnas;
using pbtnas::test::TempDir;
using pbtnas::test::error_of;

TEST_CASE("large extra state is stored chunked and compressed and reads back exactly", "[io][member]") {
  TempDir tmp;
  io::MemberFile m;
  m.id = 1;
  m.genome = {0};
  m.genome_options = {"a"};
  // A replay-buffer-like entry: 3000 x 24 floats (281 KiB), mostly zeros as in a young buffer.
  torch::Tensor obs = torch::zeros({3000, 24});
  obs.slice(0, 0, 500).copy_(torch::randn({500, 24}));
  torch::Tensor weight = torch::randn({200, 100});  // 78 KiB of network weights: stays contiguous
  m.state = {{"model.w", weight}, {"extra.replay.obs", obs}, {"extra.replay.state", torch::tensor({500, 500})}};
  const std::string path = tmp / "member_001.h5";
  io::write_member_file(path, m);
  const io::MemberFile r = io::read_member_file(path);
  REQUIRE(r.state.size() == 3);
  CHECK(test::same_bits(r.state[1].tensor, obs));
  CHECK(test::same_bits(r.state[0].tensor, weight));

  auto layout = [&](const char* dataset) {
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
    hid_t p = H5Dget_create_plist(d);
    const std::pair<H5D_layout_t, int> out{H5Pget_layout(p), H5Pget_nfilters(p)};
    H5Pclose(p);
    H5Dclose(d);
    H5Fclose(f);
    return out;
  };
  CHECK(layout("/state/tensors/extra.replay.obs") == std::make_pair(H5D_CHUNKED, 2));  // shuffle + deflate
  CHECK(layout("/state/tensors/model.w").first == H5D_CONTIGUOUS);
  CHECK(layout("/state/packed/int64").first == H5D_COMPACT);  // small: packed, kept in its object header
  CHECK(std::filesystem::file_size(path) < obs.numel() * 4 / 2 + weight.numel() * 4);
}

TEST_CASE("small tensors are packed per dtype and large ones get their own dataset", "[io][member]") {
  TempDir tmp;
  io::MemberFile m = test::make_member(4, 1);
  const torch::Tensor big = torch::randn({130, 128});  // 65 KiB: its own dataset
  m.state.push_back({"model.stem.conv.weight.big", big});  // model.stem.conv.weight is a prefix of it
  m.state.push_back({"model.stem.conv", torch::randn({3})});  // a prefix of other names: allowed
  const std::string path = tmp / "member_004.h5";
  io::write_member_file(path, m);

  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  auto count = [&](const char* group) {
    hid_t g = H5Gopen2(f, group, H5P_DEFAULT);
    H5G_info_t info;
    H5Gget_info(g, &info);
    H5Gclose(g);
    return info.nlinks;
  };
  auto extent = [&](const char* dataset) {
    hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(sp, &n, nullptr);
    H5Sclose(sp);
    H5Dclose(d);
    return n;
  };
  // make_member's float32 tensors: 72 + 8 + 64 + 72 + 72 elements, plus the 3 above; its int64
  // tensors: three scalars.
  CHECK(count("/state/packed") == 2);
  CHECK(extent("/state/packed/float32") == 72 + 8 + 64 + 72 + 72 + 3);
  CHECK(extent("/state/packed/int64") == 3);
  CHECK(count("/state/tensors") == 1);
  CHECK(H5Lexists(f, "/state/tensors/model.stem.conv.weight.big", H5P_DEFAULT) > 0);
  H5Fclose(f);

  const io::MemberFile r = io::read_member_file(path);
  CHECK(r.format_version == io::kMemberFormatVersion);
  REQUIRE(r.state.size() == m.state.size());
  for (std::size_t i = 0; i < m.state.size(); ++i) {
    CHECK(r.state[i].name == m.state[i].name);
    CHECK(test::same_bits(r.state[i].tensor, m.state[i].tensor));
  }
}

TEST_CASE("member files of format version 1 (one dataset per tensor) are still read", "[io][member]") {
  // test/data/member_v1.h5 was written by pbtnas 0.1.0 before the packed format (version 2).
  const io::MemberFile r = io::read_member_file(std::string(PBTNAS_SOURCE_DIR) + "/test/data/member_v1.h5");
  CHECK(r.format_version == 1);
  CHECK(r.id == 5);
  CHECK(r.generation == 3);
  CHECK(r.genome == Genome{2, 0, 1});
  CHECK(r.genome_options == std::vector<std::string>{"skip", "conv3x3", "sep5x5"});
  REQUIRE(r.fitness.size() == 2);
  CHECK(r.fitness[0] == 0.25);
  CHECK(r.fitness[1] == -std::numeric_limits<double>::infinity());
  CHECK(r.train_seed == 0x0123456789abcdefULL);
  const NamedState expected = {
      {"model.stem.weight", torch::arange(24, torch::kFloat32).reshape({2, 3, 4}) / 8},
      {"model.stem.bn.num_batches_tracked", torch::tensor(std::int64_t{42})},
      {"model.head.half", torch::arange(4, torch::kFloat32).to(torch::kFloat16)},
      {"model.head.bf", torch::arange(4, torch::kFloat32).to(torch::kBFloat16)},
      {"average.stem.weight", torch::arange(6, torch::kFloat64).reshape({2, 3}) * 0.5},
      {"optim.0.0.step", torch::full({}, 100, torch::kInt32)},
      {"extra.mask", torch::tensor({true, false, true})},
      {"extra.bytes", torch::tensor({1, 2, 3}, torch::kUInt8)},
      {"extra.small", torch::tensor({-1, -2}, torch::kInt8)},
      {"extra.wide", torch::tensor({300}, torch::kInt16)},
      {"extra.empty", torch::zeros({0, 3})},
  };
  REQUIRE(r.state.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(r.state[i].name == expected[i].name);
    CHECK(test::same_bits(r.state[i].tensor, expected[i].tensor));
  }
  REQUIRE(r.evaluation.size() == 1);
  CHECK(r.evaluation[0] == std::make_pair(std::string("fid"), 12.5));
}

TEST_CASE("write_member_file returns the entry describe_file computes, synced or deferred", "[io][member]") {
  TempDir tmp;
  const io::MemberFile m = test::make_member(6, 2);
  const std::string a = tmp / "member_006.h5", b = tmp / "deferred/member_006.h5";
  const io::FileEntry ea = io::write_member_file(a, m);
  const io::FileEntry eb = io::write_member_file(b, m, io::Durability::Deferred);
  const io::FileEntry da = io::describe_file(6, a);
  CHECK(ea.member == 6);
  CHECK(ea.file == "member_006.h5");
  CHECK(ea.bytes == da.bytes);
  CHECK(ea.crc32 == da.crc32);
  CHECK(eb.bytes == da.bytes);  // the same content gives the same bytes either way
  CHECK(eb.crc32 == da.crc32);
  CHECK_FALSE(std::filesystem::exists(b + ".tmp"));
  CHECK_NOTHROW(io::sync_member_files({a, b}));
  CHECK(io::read_member_file(b).id == 6);
  CHECK_THAT(error_of([&] { io::sync_member_files({tmp / "nope.h5"}); }),
             Catch::Contains("nope.h5") && Catch::Contains("durable"));
}

namespace {

// A copy of a pbtnas member file without the checksum header (as h5py would write one: read
// unchecked), in which `edit(file)` may then change datasets.
void copy_without_header(const std::string& from, const std::string& to, const std::function<void(hid_t)>& edit) {
  hid_t src = H5Fopen(from.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t dst = H5Fcreate(to.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  for (const char* name : {"genome", "genome_options", "fitness", "tensor_names", "state"})
    REQUIRE(H5Ocopy(src, name, dst, name, H5P_DEFAULT, H5P_DEFAULT) >= 0);
  // Root attributes: copy each one's raw value.
  for (const char* attr : {"format", "format_version", "member_id", "generation", "train_seed"}) {
    hid_t a = H5Aopen(src, attr, H5P_DEFAULT);
    hid_t type = H5Aget_type(a), space = H5Aget_space(a);
    std::vector<char> buf(H5Tget_size(type) * 8);
    H5Aread(a, type, buf.data());
    hid_t b = H5Acreate2(dst, attr, type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(b, type, buf.data());
    H5Aclose(b);
    H5Sclose(space);
    H5Tclose(type);
    H5Aclose(a);
  }
  edit(dst);
  H5Fclose(dst);
  H5Fclose(src);
}

void overwrite_int64(hid_t file, const char* dataset, std::size_t index, std::int64_t value) {
  hid_t d = H5Dopen2(file, dataset, H5P_DEFAULT);
  hid_t space = H5Dget_space(d);
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space, &n, nullptr);
  std::vector<std::int64_t> v(n);
  H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  v.at(index) = value;
  H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  H5Sclose(space);
  H5Dclose(d);
}

}  // namespace

TEST_CASE("a damaged state table is reported as a damaged file, never as a crash", "[io][member]") {
  TempDir tmp;
  const std::string good = tmp / "member_001.h5", bad = tmp / "bad.h5";
  io::write_member_file(good, test::make_member(1, 0));
  copy_without_header(good, bad, [](hid_t) {});
  CHECK(io::read_member_file(bad).state.size() == 8);  // the copy itself reads
  SECTION("an offset past the packed data") {
    copy_without_header(good, bad, [](hid_t f) { overwrite_int64(f, "state/offsets", 0, std::numeric_limits<std::int64_t>::max() - 3); });
    CHECK_THAT(error_of([&] { io::read_member_file(bad); }), Catch::Contains("beyond the end"));
  }
  SECTION("an extent whose element count overflows") {
    copy_without_header(good, bad, [](hid_t f) {
      overwrite_int64(f, "state/shapes", 0, std::int64_t{1} << 40);
      overwrite_int64(f, "state/shapes", 1, std::int64_t{1} << 40);
    });
    CHECK_THAT(error_of([&] { io::read_member_file(bad); }), Catch::Contains("overflows"));
  }
  SECTION("a negative extent") {
    copy_without_header(good, bad, [](hid_t f) { overwrite_int64(f, "state/shapes", 0, -8); });
    CHECK_THAT(error_of([&] { io::read_member_file(bad); }), Catch::Contains("negative"));
  }
  SECTION("a rank beyond the shapes table") {
    copy_without_header(good, bad, [](hid_t f) { overwrite_int64(f, "state/ranks", 7, 1000); });
    CHECK_THAT(error_of([&] { io::read_member_file(bad); }), Catch::Contains("rank"));
  }
}

// Hidden ("[.]"): write/read timing of a toy-sized member (96 small tensors, as ToyNet's model
// and averaged copy), 200 times each; docs/performance.md, "Scale".
// Run: pbtnas_io_tests "small member file timing"
TEST_CASE("small member file timing", "[.][bench]") {
  TempDir tmp;
  io::MemberFile m = test::make_member(0, 0);
  m.state.clear();
  for (const char* copy : {"average", "model"})
    for (int c = 0; c < 12; ++c)
      for (int l = 0; l < 2; ++l) {
        const std::string p = std::string(copy) + ".cells." + std::to_string(c) + "." + std::to_string(l);
        m.state.push_back({p + ".weight", torch::randn({4, 8})});
        m.state.push_back({p + ".bias", torch::randn({4})});
      }
  const int n = 200;
  using ms = std::chrono::duration<double, std::milli>;
  auto time_writes = [&](io::Durability d) {
    std::vector<std::string> paths;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      paths.push_back(tmp / ("m" + std::to_string(i) + ".h5"));
      io::write_member_file(paths.back(), m, d);
    }
    if (d == io::Durability::Deferred) io::sync_member_files(paths);
    return ms(std::chrono::steady_clock::now() - t0).count() / n;
  };
  const double synced = time_writes(io::Durability::Synced);
  const double deferred = time_writes(io::Durability::Deferred);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) CHECK(io::read_member_file(tmp / ("m" + std::to_string(i) + ".h5")).state.size() == 96);
  const double read = ms(std::chrono::steady_clock::now() - t0).count() / n;
  WARN("per file: write " << synced << " ms synced, " << deferred << " ms deferred and synced together; read "
                          << read << " ms");
}

// Hidden ("[.]"): write/read timing of a member with 300 tensors (~38 MB).
TEST_CASE("member file timing", "[.][bench]") {
  TempDir tmp;
  io::MemberFile m = test::make_member(0, 0);
  m.state.clear();
  for (int i = 0; i < 300; ++i)
    m.state.push_back(
        {"model.cells." + std::to_string(i / 3) + ".op" + std::to_string(i % 3) + ".weight",
         torch::randn({32, 1000})});
  auto t0 = std::chrono::steady_clock::now();
  io::write_member_file(tmp / "big.h5", m);
  auto t1 = std::chrono::steady_clock::now();
  const auto r = io::read_member_file(tmp / "big.h5");
  auto t2 = std::chrono::steady_clock::now();
  const auto e = io::describe_file(0, tmp / "big.h5");
  auto t3 = std::chrono::steady_clock::now();
  using ms = std::chrono::duration<double, std::milli>;
  WARN("bytes " << e.bytes << "  write " << ms(t1 - t0).count() << " ms  read "
                << ms(t2 - t1).count() << " ms  describe " << ms(t3 - t2).count() << " ms");
  CHECK(r.state.size() == 300);
}
