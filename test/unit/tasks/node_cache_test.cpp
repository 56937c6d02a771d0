// node_shared_tensor: computed once, written atomically, mapped read-only by every caller.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "pbtnas/tasks/node_cache.hpp"
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
