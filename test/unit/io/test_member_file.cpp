// Member files: bit-exact round trips and clean errors on bad input (the storage layout itself,
// formats 1 and 2, and the timing benches: test_member_layout.cpp).
#include <hdf5.h>

#include <atomic>
#include <catch2/catch.hpp>
#include "support/skip.hpp"
#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <thread>

#include "unit/io/io_fixtures.hpp"

using namespace pbtnas;
using pbtnas::test::TempDir;
using pbtnas::test::error_of;


TEST_CASE("member file round trip is bit-identical for every supported dtype", "[io][member]") {
  TempDir tmp;
  torch::manual_seed(test::test_seed());
  io::MemberFile m;
  m.id = 7;
  m.generation = 3;
  m.genome = {2, 0, 1};
  m.genome_options = {"sep5x5", "conv3x3", "skip"};
  m.fitness = {};  // empty fitness history
  m.train_seed = std::numeric_limits<std::uint64_t>::max();
  torch::Tensor with_nan = torch::randn({4, 5});
  with_nan[1][2] = std::numeric_limits<float>::quiet_NaN();
  with_nan[3][0] = -std::numeric_limits<float>::infinity();
  torch::Tensor param = torch::randn({3, 6}).requires_grad_(true);
  m.state = {
      {"model.cells.3.op.conv.weight", with_nan},
      {"model.fc.weight_t", param.t()},  // non-contiguous, requires grad
      {"model.double", torch::randn({2, 2}, torch::kFloat64)},
      {"model.half", torch::randn({5}).to(torch::kFloat16)},
      {"model.bf16", torch::randn({5}).to(torch::kBFloat16)},
      {"optim.0.count", torch::tensor(std::int64_t{-5})},    // int64 0-dim
      {"optim.0.0.step", torch::tensor({std::int64_t{9}})},  // int64, one element
      {"model.scalar_float", torch::tensor(1.25f)},          // float 0-dim
      {"model.int32", torch::randint(-1000, 1000, {3, 2}, torch::kInt32)},
      {"model.int16", torch::randint(-100, 100, {4}, torch::kInt16)},
      {"model.int8", torch::randint(-100, 100, {4}, torch::kInt8)},
      {"model.uint8", torch::randint(0, 255, {7}, torch::kUInt8)},
      {"model.mask", torch::rand({2, 3}) > 0.5},
      {"model.empty", torch::empty({0, 3})},
  };
  const std::string path = tmp / "member_007.h5";
  io::write_member_file(path, m);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

  const io::MemberFile r = io::read_member_file(path);
  CHECK(r.id == 7);
  CHECK(r.generation == 3);
  CHECK(r.genome == m.genome);
  CHECK(r.genome_options == m.genome_options);
  CHECK(r.fitness.empty());
  CHECK(r.train_seed == m.train_seed);
  REQUIRE(r.state.size() == m.state.size());
  for (std::size_t i = 0; i < m.state.size(); ++i) {
    INFO(m.state[i].name);
    CHECK(r.state[i].name == m.state[i].name);
    CHECK(r.state[i].tensor.device().is_cpu());
    CHECK(r.state[i].tensor.dim() == m.state[i].tensor.dim());
    CHECK(test::same_bits(r.state[i].tensor, m.state[i].tensor.detach()));
  }

  const io::MemberFile names_only = io::read_member_file(path, /*load_tensors=*/false);
  REQUIRE(names_only.state.size() == m.state.size());
  CHECK(names_only.state[5].name == "optim.0.count");
  CHECK_FALSE(names_only.state[5].tensor.defined());
}

TEST_CASE("member file keeps fitness values exactly, including -inf and NaN", "[io][member]") {
  TempDir tmp;
  io::MemberFile m = test::make_member(1, 0);
  m.fitness = {0.1, -std::numeric_limits<double>::infinity(),
               std::numeric_limits<double>::quiet_NaN(), 1e-300};
  io::write_member_file(tmp / "m.h5", m);
  const auto r = io::read_member_file(tmp / "m.h5");
  REQUIRE(r.fitness.size() == 4);
  CHECK(r.fitness[0] == 0.1);
  CHECK(r.fitness[1] == -std::numeric_limits<double>::infinity());
  CHECK(std::isnan(r.fitness[2]));
  CHECK(r.fitness[3] == 1e-300);
}

TEST_CASE("the same member content gives the same file bytes", "[io][member]") {
  TempDir tmp;
  const io::MemberFile m = test::make_member(2, 5);
  io::write_member_file(tmp / "a.h5", m);
  io::write_member_file(tmp / "b.h5", m);
  const auto a = io::describe_file(2, tmp / "a.h5");
  const auto b = io::describe_file(2, tmp / "b.h5");
  CHECK(a.file == "a.h5");
  CHECK(a.bytes == b.bytes);
  CHECK(a.crc32 == b.crc32);
}

TEST_CASE("invalid tensor names and tensors are rejected without leaving files", "[io][member]") {
  TempDir tmp;
  const std::string path = tmp / "bad.h5";
  io::MemberFile m = test::make_member(0, 0);
  SECTION("a name with a '/'") {
    m.state.push_back({"model.a/b", torch::zeros({1})});
    CHECK_THAT(error_of([&] { io::write_member_file(path, m); }), Catch::Contains("model.a/b"));
  }
  SECTION("a duplicate name") {
    m.state.push_back(m.state.front());
    CHECK_THAT(error_of([&] { io::write_member_file(path, m); }), Catch::Contains("twice"));
  }
  SECTION("an empty component") {
    m.state.push_back({"model..x", torch::zeros({1})});
    CHECK_THAT(error_of([&] { io::write_member_file(path, m); }), Catch::Contains("model..x"));
  }
  SECTION("an undefined tensor") {
    m.state.push_back({"model.ghost", torch::Tensor()});
    CHECK_THAT(error_of([&] { io::write_member_file(path, m); }),
               Catch::Contains("model.ghost") && Catch::Contains("undefined"));
  }
  SECTION("an unsupported dtype") {
    m.state.push_back({"model.c", torch::zeros({2}, torch::kComplexFloat)});
    CHECK_THAT(error_of([&] { io::write_member_file(path, m); }),
               Catch::Contains("cannot be checkpointed"));
  }
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_CASE("reading a bad file throws CheckpointError, never crashes", "[io][member]") {
  TempDir tmp;
  SECTION("missing file") {
    CHECK_THAT(error_of([&] { io::read_member_file(tmp / "nope.h5"); }),
               Catch::Contains("nope.h5 does not exist"));
  }
  SECTION("garbage bytes") {
    test::write_bytes(tmp / "garbage.h5", std::string(5000, 'x') + "not hdf5 at all");
    CHECK_THAT(error_of([&] { io::read_member_file(tmp / "garbage.h5"); }),
               Catch::Contains("garbage.h5") && Catch::Contains("not a pbtnas checkpoint"));
  }
  SECTION("empty file") {
    test::write_bytes(tmp / "empty.h5", "");
    CHECK_THAT(error_of([&] { io::read_member_file(tmp / "empty.h5"); }),
               Catch::Contains("not a pbtnas checkpoint"));
  }
  SECTION("HDF5 file without the format attribute") {
    hid_t f = H5Fcreate((tmp / "plain.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(f >= 0);
    H5Fclose(f);
    CHECK_THAT(error_of([&] { io::read_member_file(tmp / "plain.h5"); }),
               Catch::Contains("no 'format' attribute"));
  }
  SECTION("an index file passed as a member file") {
    io::write_index(tmp / "index.h5", test::make_index(0, 2));
    CHECK_THAT(error_of([&] { io::read_member_file(tmp / "index.h5"); }),
               Catch::Contains("'pbtnas-index' file"));
  }
  SECTION("truncated file") {
    const std::string path = tmp / "cut.h5";
    io::write_member_file(path, test::make_member(3, 1));
    const auto size = std::filesystem::file_size(path);
    for (auto keep : {size - 1, size / 2, std::uintmax_t{600}, std::uintmax_t{8}}) {
      io::write_member_file(path, test::make_member(3, 1));
      std::filesystem::resize_file(path, keep);
      INFO("kept " << keep << " of " << size << " bytes");
      CHECK_THAT(error_of([&] { io::read_member_file(path); }), Catch::Contains("cut.h5"));
    }
  }
}

TEST_CASE("a damaged file's advice fits where it lies", "[io][member]") {
  TempDir tmp;
  auto damaged = [&](const std::string& path) {
    io::write_member_file(path, test::make_member(3, 1));
    std::filesystem::resize_file(path, std::filesystem::file_size(path) - 1);
    return error_of([&] { io::read_member_file(path); });
  };
  std::filesystem::create_directories(tmp / "checkpoints/gen_000001");
  CHECK_THAT(damaged(tmp / "checkpoints/gen_000001/member_003.h5"),
             Catch::Contains("delete its generation directory to resume from the previous generation"));
  const std::string best = damaged(tmp / "best_ever.h5");
  CHECK_THAT(best, Catch::Contains("run the search command again") && Catch::Contains("copies the best-ever member again"));
  CHECK_THAT(best, !Catch::Contains("generation directory to resume"));
  CHECK_THAT(damaged(tmp / "soup.h5"), Catch::Contains("pbtnas soup OUT"));
}

TEST_CASE("CUDA tensors are written as CPU data", "[io][member][cuda]") {
  if (!torch::cuda::is_available()) {
    PBTNAS_SKIP("no CUDA device");
  }
  TempDir tmp;
  io::MemberFile m = test::make_member(0, 0);
  for (auto& nt : m.state) nt.tensor = nt.tensor.to(torch::kCUDA);
  io::write_member_file(tmp / "cuda.h5", m);
  const auto r = io::read_member_file(tmp / "cuda.h5");
  REQUIRE(r.state.size() == m.state.size());
  for (std::size_t i = 0; i < m.state.size(); ++i)
    CHECK(test::same_bits(r.state[i].tensor, m.state[i].tensor));
}

// Every single-byte corruption is caught by the checksum header before HDF5 parses the file
// (HDF5 itself can crash on a corrupted heap, and reads flipped tensor bytes silently).
TEST_CASE("a member file with any flipped byte is rejected, never crashes", "[io][member]") {
  TempDir tmp;
  const std::string clean = tmp / "clean.h5", path = tmp / "flipped.h5";
  io::write_member_file(clean, test::make_member(1, 1));
  const auto size = std::filesystem::file_size(clean);
  std::string bytes;
  {
    std::ifstream f(clean, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  REQUIRE(bytes.size() == size);
  CHECK(bytes.compare(0, 18, "pbtnas-checkpoint ") == 0);
  int silent = 0, by_crc = 0;
  for (std::size_t off = 0; off < size; off += (off < 64 ? 1 : 7)) {
    std::string damaged = bytes;
    damaged[off] = static_cast<char>(damaged[off] ^ (1 << (off % 8)));
    test::write_bytes(path, damaged);
    try {
      io::read_member_file(path);
      ++silent;
      WARN("flipped byte at offset " << off << " was not detected");
    } catch (const io::CheckpointError& e) {
      if (std::string(e.what()).find("CRC-32") != std::string::npos) ++by_crc;
    }
  }
  CHECK(silent == 0);
  // Flips inside tensor data pass HDF5's own checks: only the CRC-32 finds them, and says so.
  CHECK(by_crc > 0);
}

TEST_CASE("threads of one process may write and read member files concurrently", "[io][member]") {
  TempDir tmp;
  std::vector<io::MemberFile> members;
  for (int i = 0; i < 4; ++i) members.push_back(test::make_member(i, 0));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      try {
        const std::string path = tmp / io::member_file_name(i);
        for (int rep = 0; rep < 5; ++rep) {
          io::write_member_file(path, members[i]);
          if (io::read_member_file(path).state.size() != members[i].state.size()) ++failures;
        }
      } catch (const std::exception&) {
        ++failures;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
}

TEST_CASE("a member file carries an optional final evaluation that inspect prints",
          "[io][member]") {
  TempDir tmp;
  io::MemberFile m = test::make_member(2, 5);
  const std::string plain = tmp.str() + "/plain.h5", evaluated = tmp.str() + "/best_ever.h5";
  io::write_member_file(plain, m);
  CHECK(io::read_member_file(plain).evaluation.empty());

  m.evaluation = {{"fid", 23.5}, {"fid_samples", 50000}, {"inception_score", 7.25},
                  {"missing", std::numeric_limits<double>::quiet_NaN()}};
  io::write_member_file(evaluated, m);
  const io::MemberFile back = io::read_member_file(evaluated);
  REQUIRE(back.evaluation.size() == 4);
  CHECK(back.evaluation[0] == std::make_pair(std::string("fid"), 23.5));
  CHECK(back.evaluation[1].second == 50000);
  CHECK(back.evaluation[2].first == "inception_score");
  CHECK(std::isnan(back.evaluation[3].second));
  REQUIRE(back.state.size() == m.state.size());
  for (std::size_t i = 0; i < m.state.size(); ++i) CHECK(test::same_bits(back.state[i].tensor, m.state[i].tensor));

  std::ostringstream text;
  io::inspect(evaluated, text);
  CHECK_THAT(text.str(), Catch::Contains("final evaluation:") && Catch::Contains("fid 23.5") &&
                             Catch::Contains("inception_score 7.25"));
  std::ostringstream plain_text;
  io::inspect(plain, plain_text);
  CHECK_THAT(plain_text.str(), !Catch::Contains("final evaluation"));
}

TEST_CASE("copy_file_atomic copies bytes exactly and reports unreadable sources", "[io][member]") {
  TempDir tmp;
  const std::string src = tmp.str() + "/m.h5", dst = tmp.str() + "/sub/best_ever.h5";
  io::write_member_file(src, test::make_member(1, 0));
  io::copy_file_atomic(src, dst);
  std::ifstream a(src, std::ios::binary), b(dst, std::ios::binary);
  const std::string x((std::istreambuf_iterator<char>(a)), {}), y((std::istreambuf_iterator<char>(b)), {});
  CHECK(x == y);
  CHECK_FALSE(std::filesystem::exists(dst + ".tmp"));
  CHECK(io::read_member_file(dst).id == 1);
  CHECK_THAT(error_of([&] { io::copy_file_atomic(tmp.str() + "/nope.h5", dst); }), Catch::Contains("nope.h5"));
  CHECK(io::read_member_file(dst).id == 1);  // the previous copy is intact
}
