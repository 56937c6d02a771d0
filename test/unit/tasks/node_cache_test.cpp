// node_shared_tensor: computed once, written atomically, mapped read-only by every caller.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include "pbtnas/tasks/node_cache.hpp"
#include "pbtnas/util/file_lock.hpp"
#include "support/temp_dir.hpp"

using namespace pbtnas;

TEST_CASE("node cache: a tensor is computed once and then mapped from its file", "[task]") {
  test::TempDir dir;
  const std::string cache = dir.file("cache/sub");  // created on demand
  int computed = 0;
  auto compute = [&] {
    ++computed;
    return torch::arange(24, torch::kFloat32).reshape({2, 3, 4});
  };
  const torch::Tensor a = node_shared_tensor(cache, "x.tensor", compute);
  const torch::Tensor b = node_shared_tensor(cache, "x.tensor", compute);
  CHECK(computed == 1);
  CHECK(a.sizes() == torch::IntArrayRef({2, 3, 4}));
  CHECK(a.scalar_type() == torch::kFloat32);
  CHECK(torch::equal(a, torch::arange(24, torch::kFloat32).reshape({2, 3, 4})));
  CHECK(torch::equal(a, b));
  CHECK(a.data_ptr() != b.data_ptr());  // two mappings of one file
  CHECK(a.index_select(0, torch::tensor({1}, torch::kLong)).sum().item<float>() == Approx(210.0f));
  // Another dtype and rank round-trip too.
  const torch::Tensor l = node_shared_tensor(cache, "l.tensor", [] { return torch::tensor({7, 8, 9}, torch::kLong); });
  CHECK(l.scalar_type() == torch::kLong);
  CHECK(l[2].item<std::int64_t>() == 9);
}

TEST_CASE("node cache: a truncated or foreign file is replaced, an unwritable folder is named", "[task]") {
  test::TempDir dir;
  const std::string cache = dir.file("cache");
  std::filesystem::create_directories(cache);
  { std::ofstream(cache + "/x.tensor") << "not a tensor file"; }
  int computed = 0;
  const torch::Tensor a = node_shared_tensor(cache, "x.tensor", [&] {
    ++computed;
    return torch::ones({5});
  });
  CHECK(computed == 1);
  CHECK(a.sum().item<float>() == 5.0f);
  CHECK(std::filesystem::file_size(cache + "/x.tensor") == 64 + 5 * 4);
  // A folder below a regular file cannot be created.
  CHECK_THROWS_WITH(node_shared_tensor(cache + "/x.tensor/below", "y.tensor", [] { return torch::ones({1}); }),
                    Catch::Contains("cannot cache shared data") && Catch::Contains("writable"));
}

TEST_CASE("node cache: fingerprints change with their inputs", "[task]") {
  test::TempDir dir;
  const std::string f = dir.file("data.bin");
  { std::ofstream(f) << "abc"; }
  const std::string a = cache_fingerprint({"v1", "10"}, {f});
  CHECK(a.size() == 16);
  CHECK(cache_fingerprint({"v1", "10"}, {f}) == a);
  CHECK(cache_fingerprint({"v1", "11"}, {f}) != a);
  CHECK(cache_fingerprint({"v11", ""}, {f}) != cache_fingerprint({"v1", "1"}, {f}));
  { std::ofstream(f) << "abcd"; }  // another size
  CHECK(cache_fingerprint({"v1", "10"}, {f}) != a);
}

TEST_CASE("node scratch: SLURM_TMPDIR, then TMPDIR, then /dev/shm, else the user's cache", "[task]") {
  struct Env {  // sets or unsets one variable for the test's duration
    std::string name;
    std::optional<std::string> old;
    Env(const char* n, const char* value) : name(n) {
      if (const char* v = std::getenv(n)) old = v;
      value ? ::setenv(n, value, 1) : ::unsetenv(n);
    }
    ~Env() { old ? ::setenv(name.c_str(), old->c_str(), 1) : ::unsetenv(name.c_str()); }
  };
  {
    Env a("SLURM_TMPDIR", "/scratch/job7"), b("TMPDIR", "/tmp/x");
    CHECK(node_scratch_dir("k") == "/scratch/job7/pbtnas");
  }
  {
    Env a("SLURM_TMPDIR", ""), b("TMPDIR", "/tmp/x");
    CHECK(node_scratch_dir("k") == "/tmp/x/pbtnas");
  }
  {
    Env a("SLURM_TMPDIR", nullptr), b("TMPDIR", nullptr), c("XDG_CACHE_HOME", "/home/u/.cache");
    const std::string dir = node_scratch_dir("k");
    if (::access("/dev/shm", W_OK | X_OK) == 0)
      CHECK(dir == "/dev/shm/pbtnas");
    else
      CHECK(dir == "/home/u/.cache/pbtnas");
  }
}

TEST_CASE("file lock: exclusive between holders, released when the holder goes", "[task]") {
  test::TempDir dir;
  const std::string path = dir.file("x.lock");
  std::optional<FileLock> first;
  first.emplace(path);
  REQUIRE(first->held());
  {
    FileLock second(path, FileLock::Wait::Try);  // another open file description: flock excludes it
    CHECK_FALSE(second.held());
    CHECK_FALSE(second.unsupported());
    CHECK_THAT(second.why(), Catch::Contains("another process holds"));
  }
  first.reset();
  FileLock third(path, FileLock::Wait::Try);
  CHECK(third.held());
  CHECK_THROWS_WITH(FileLock(dir.file("missing/x.lock")),
                    Catch::Contains("cannot create the lock file") && Catch::Contains("missing/x.lock"));
}

// Run by the ctest test "tasks: node cache without flock" under a shim whose flock fails with
// ENOSYS (test/support/flock_unsupported.c), as on Lustre mounted without -o flock. Hidden from
// the normal run, where flock works.
TEST_CASE("node cache: a file system without flock still gives one correct file", "[.no_flock]") {
  test::TempDir dir;
  const std::string cache = dir.file("cache");
  FileLock probe(dir.file("probe.lock"));
  REQUIRE(probe.unsupported());  // the shim is in place
  CHECK_FALSE(probe.held());
  CHECK_THAT(probe.why(), Catch::Contains("does not lock"));
  // Several threads find no file at once: each may compute and rename its own temporary; every
  // one gets the same values, and one whole file is left with no temporaries.
  std::vector<torch::Tensor> got(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < got.size(); ++i)
    threads.emplace_back([&, i] {
      got[i] = node_shared_tensor(cache, "x.tensor", [] { return torch::arange(1000, torch::kFloat32); });
    });
  for (auto& t : threads) t.join();
  for (const auto& t : got) CHECK(torch::equal(t, torch::arange(1000, torch::kFloat32)));
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(cache)) {
    const std::string name = e.path().filename().string();
    CHECK(name.find(".tmp.") == std::string::npos);
    files += name == "x.tensor";
  }
  CHECK(files == 1);
  CHECK(std::filesystem::file_size(cache + "/x.tensor") == 64 + 1000 * 4);
}
