// ClassifierFeatures (features.hpp) on a small synthetic data set: training, check accuracy,
// bit-identical retraining, and its cache: reuse, concurrent users, corrupt or foreign files,
// unwritable locations, file names, file systems without flock.
#include "pbtnas/tasks/gan/features.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <exception>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <cmath>
#include <limits>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/seed.hpp"
#include "support/temp_dir.hpp"
#include "pbtnas/util/file_lock.hpp"

using namespace pbtnas::gan;
using Catch::Matchers::Contains;

namespace {

at::Generator input_generator(std::uint64_t salt = 0) {
  return at::make_generator<at::CPUGeneratorImpl>(pbtnas::test::test_seed() + salt);
}

// Three easy classes of 32 x 32 gray images with noise: a horizontal bar, a vertical bar, a
// filled square, at random positions; label i % 3 so the held-out tail holds all classes.
struct Synthetic {
  torch::Tensor images, labels;
};

Synthetic synthetic(std::int64_t n, std::int64_t channels, std::uint64_t salt = 0) {
  auto gen = input_generator(salt);
  torch::Tensor x = torch::full({n, channels, 32, 32}, -0.8f);
  torch::Tensor y = torch::empty({n}, torch::kInt64);
  const torch::Tensor pos = torch::randint(4, 24, {n, 2}, gen, torch::kInt64);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t a = pos[i][0].item<std::int64_t>(), b = pos[i][1].item<std::int64_t>();
    using torch::indexing::Slice;
    torch::Tensor img = x[i];
    switch (i % 3) {
      case 0:
        img.index_put_({Slice(), Slice(a, a + 3), Slice()}, 0.8f);
        break;
      case 1:
        img.index_put_({Slice(), Slice(), Slice(b, b + 3)}, 0.8f);
        break;
      default:
        img.index_put_({Slice(), Slice(a, a + 8), Slice(b, b + 8)}, 0.8f);
        break;
    }
    y[i] = i % 3;
  }
  x += torch::randn(x.sizes(), gen) * 0.2;
  return {x.clamp(-1.0, 1.0), y};
}

// A cheap recipe for the tests (the real default is 2 epochs of batch 128).
ClassifierFeaturesConfig test_config(const std::string& cache_path) {
  ClassifierFeaturesConfig cfg;
  cfg.cache_path = cache_path;
  cfg.epochs = 2;
  cfg.batch_size = 16;
  return cfg;
}

struct LogLines {
  std::vector<std::string> lines;
  ClassifierFeatures::Log fn() {
    return [this](const std::string& s) { lines.push_back(s); };
  }
  bool has(const std::string& part) const {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& s) { return s.find(part) != std::string::npos; });
  }
};

// The synthetic data set of the main classifier test (240 images; a training costs ~1 s).
const Synthetic& shared_data() {
  static const Synthetic d = synthetic(240, 1);
  return d;
}

}  // namespace

TEST_CASE("ClassifierFeatures trains deterministically and reuses its cache", "[features]") {
  const Synthetic& d = shared_data();
  pbtnas::test::TempDir dir1, dir2;
  const std::string name = ClassifierFeatures::cache_file_name("synthetic", d.images, d.labels, 3,
                                                               test_config(""));
  const std::string path1 = dir1 / ("sub/dir/" + name);  // parent directories are created

  // Two users of one cache path at once (threads here; flock is per open file description):
  // exactly one trains, the other waits and loads.
  std::shared_ptr<ClassifierFeatures> a, b;
  LogLines log_a, log_b;
  {
    std::exception_ptr thread_error;
    std::thread t([&] {
      try {
        a = ClassifierFeatures::load_or_train(test_config(path1), d.images, d.labels, 3,
                                              torch::kCPU, log_a.fn());
      } catch (...) {
        thread_error = std::current_exception();
      }
    });
    b = ClassifierFeatures::load_or_train(test_config(path1), d.images, d.labels, 3, torch::kCPU,
                                          log_b.fn());
    t.join();
    if (thread_error) std::rethrow_exception(thread_error);
  }
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->freshly_trained() != b->freshly_trained());
  const auto& trained = a->freshly_trained() ? a : b;
  const LogLines& trained_log = a->freshly_trained() ? log_a : log_b;
  const LogLines& loaded_log = a->freshly_trained() ? log_b : log_a;
  CHECK(trained_log.has("epoch 2/2"));
  CHECK(trained_log.has("saved " + path1));
  CHECK(loaded_log.has("loaded " + path1));
  CHECK_FALSE(loaded_log.has("training"));
  CHECK(std::filesystem::exists(path1));
  CHECK(std::filesystem::exists(path1 + ".lock"));

  INFO("check accuracy " << trained->check_accuracy());
  CHECK(trained->check_accuracy() >= 0.9);
  CHECK(a->check_accuracy() == b->check_accuracy());
  CHECK(trained->n_classes() == 3);
  CHECK(trained->channels() == 1);
  CHECK(trained->describe() == "classifier (128-d, 3 classes, " + path1 + ")");

  const torch::Tensor probe = d.images.slice(0, 0, 40);
  const auto [fa, la] = a->features_and_logits(probe);
  CHECK(fa.sizes() == torch::IntArrayRef({40, 128}));
  CHECK(la.sizes() == torch::IntArrayRef({40, 3}));
  CHECK(torch::isfinite(fa).all().item<bool>());
  CHECK(!fa.requires_grad());
  CHECK(torch::equal(a->features(probe), fa));
  CHECK(torch::equal(b->features(probe), fa));  // the loaded copy computes the same
  CHECK(la.argmax(1).eq(d.labels.slice(0, 0, 40)).to(torch::kFloat64).mean().item<double>() >=
        0.9);
  // Batches larger than the internal forward chunk and doubles in: same rows.
  const torch::Tensor big = d.images.repeat({2, 1, 1, 1});
  CHECK(torch::allclose(a->features(big.to(torch::kFloat64)).slice(0, 0, 40), fa, 1e-5, 1e-5));

  // The cache is reused: no training, the file untouched, the same features.
  {
    const auto mtime = std::filesystem::last_write_time(path1);
    LogLines log;
    auto c = ClassifierFeatures::load_or_train(test_config(path1), d.images, d.labels, 3,
                                               torch::kCPU, log.fn());
    CHECK_FALSE(c->freshly_trained());
    CHECK_FALSE(log.has("training"));
    CHECK(log.has("loaded " + path1));
    CHECK(std::filesystem::last_write_time(path1) == mtime);
    CHECK(torch::equal(c->features(probe), fa));
  }
  // A second training elsewhere is bit-identical (the tensors; the archives need not be).
  {
    const std::string path2 = dir2 / name;
    LogLines log;
    auto c = ClassifierFeatures::load_or_train(test_config(path2), d.images, d.labels, 3,
                                               torch::kCPU, log.fn());
    CHECK(c->freshly_trained());
    CHECK(torch::equal(c->features(probe), fa));
    CHECK(c->check_accuracy() == trained->check_accuracy());
  }
  // A truncated cache file is retrained and replaced, not fatal.
  {
    std::filesystem::resize_file(path1, std::filesystem::file_size(path1) / 2);
    LogLines log;
    auto c = ClassifierFeatures::load_or_train(test_config(path1), d.images, d.labels, 3,
                                               torch::kCPU, log.fn());
    CHECK(c->freshly_trained());
    CHECK(log.has("is unusable"));
    CHECK(log.has("retraining and replacing it"));
    CHECK(torch::equal(c->features(probe), fa));
    LogLines again;
    auto e = ClassifierFeatures::load_or_train(test_config(path1), d.images, d.labels, 3,
                                               torch::kCPU, again.fn());
    CHECK_FALSE(e->freshly_trained());
  }
}

TEST_CASE("ClassifierFeatures: 3 channels, foreign cache files, bad inputs and locations",
          "[features]") {
  pbtnas::test::TempDir dir;
  const Synthetic d = synthetic(40, 3, 7);
  ClassifierFeaturesConfig cfg = test_config(dir / "c3.pt");
  cfg.epochs = 1;
  LogLines log;
  auto f = ClassifierFeatures::load_or_train(cfg, d.images, d.labels, 3, torch::kCPU, log.fn());
  CHECK(f->freshly_trained());
  CHECK(f->channels() == 3);
  CHECK(log.has("36 images (4 held out)"));
  CHECK(f->features(d.images.slice(0, 0, 5)).sizes() == torch::IntArrayRef({5, 128}));
  CHECK_THROWS_AS(f->features(torch::zeros({2, 1, 32, 32})), std::invalid_argument);
  CHECK_THROWS_AS(f->features(torch::zeros({2, 3, 28, 28})), std::invalid_argument);

  SECTION("a cache file made for other data is retrained") {
    const torch::Tensor other_labels = (d.labels + 1) % 3;
    LogLines other;
    auto g = ClassifierFeatures::load_or_train(cfg, d.images, other_labels, 3, torch::kCPU,
                                               other.fn());
    CHECK(g->freshly_trained());
    CHECK(other.has("metadata"));
    CHECK(other.has("retraining and replacing it"));
  }
  SECTION("a cache file of another class count is retrained") {
    LogLines other;
    auto g = ClassifierFeatures::load_or_train(cfg, d.images, d.labels, 4, torch::kCPU,
                                               other.fn());
    CHECK(g->freshly_trained());
    CHECK(g->n_classes() == 4);
    CHECK(other.has("is unusable"));
  }
  SECTION("garbage in the cache file is retrained") {
    std::ofstream(cfg.cache_path, std::ios::trunc) << "garbage";
    LogLines other;
    auto g =
        ClassifierFeatures::load_or_train(cfg, d.images, d.labels, 3, torch::kCPU, other.fn());
    CHECK(g->freshly_trained());
    CHECK(other.has("torch::load failed"));
  }
  SECTION("an unwritable cache location names the path and the config key") {
    const std::string blocker = dir / "a_file";
    std::ofstream(blocker) << "x";
    ClassifierFeaturesConfig bad = cfg;
    bad.cache_path = blocker + "/cache/c3.pt";
    CHECK_THROWS_WITH(
        ClassifierFeatures::load_or_train(bad, d.images, d.labels, 3, torch::kCPU, nullptr),
        Contains(bad.cache_path) && Contains("gan.features.cache_dir"));
  }
  SECTION("malformed inputs") {
    CHECK_THROWS_AS(ClassifierFeatures::load_or_train(cfg, d.images, d.labels, 2, torch::kCPU,
                                                      nullptr),
                    std::invalid_argument);  // label 2 >= n_classes
    CHECK_THROWS_AS(ClassifierFeatures::load_or_train(cfg, d.images.slice(3, 0, 28), d.labels, 3,
                                                      torch::kCPU, nullptr),
                    std::invalid_argument);
    CHECK_THROWS_AS(ClassifierFeatures::load_or_train(cfg, d.images, d.labels.slice(0, 0, 39), 3,
                                                      torch::kCPU, nullptr),
                    std::invalid_argument);
    ClassifierFeaturesConfig zero = cfg;
    zero.epochs = 0;
    CHECK_THROWS_AS(
        ClassifierFeatures::load_or_train(zero, d.images, d.labels, 3, torch::kCPU, nullptr),
        std::invalid_argument);
  }
}

TEST_CASE("ClassifierFeatures cache file names fingerprint the data and the recipe",
          "[features]") {
  const Synthetic d = synthetic(50, 1, 3);
  const ClassifierFeaturesConfig cfg;
  const std::string name =
      ClassifierFeatures::cache_file_name("fashion_mnist", d.images, d.labels, 3, cfg);
  CHECK(std::regex_match(name, std::regex("pbtnas-fid-classifier-fashion_mnist-[0-9a-f]{16}\\.pt")));
  CHECK(ClassifierFeatures::cache_file_name("fashion_mnist", d.images.clone(), d.labels.clone(), 3,
                                            cfg) == name);
  CHECK(ClassifierFeatures::cache_file_name("fashion_mnist", d.images.to(torch::kFloat64),
                                            d.labels.to(torch::kInt32), 3, cfg) == name);
  CHECK(ClassifierFeatures::cache_file_name("a/b c", d.images, d.labels, 3, cfg)
            .rfind("pbtnas-fid-classifier-a_b_c-", 0) == 0);

  torch::Tensor other_labels = d.labels.clone();
  other_labels[7] = (other_labels[7].item<std::int64_t>() + 1) % 3;
  CHECK(ClassifierFeatures::cache_file_name("fashion_mnist", d.images, other_labels, 3, cfg) !=
        name);
  torch::Tensor other_images = d.images.clone();
  other_images[10][0][5][5] = other_images[10][0][5][5].item<float>() > 0 ? -1.0f : 1.0f;
  CHECK(ClassifierFeatures::cache_file_name("fashion_mnist", other_images, d.labels, 3, cfg) !=
        name);
  CHECK(ClassifierFeatures::cache_file_name("fashion_mnist", d.images.slice(0, 0, 49),
                                            d.labels.slice(0, 0, 49), 3, cfg) != name);
  CHECK(ClassifierFeatures::cache_file_name("fashion_mnist", d.images, d.labels, 4, cfg) != name);
  ClassifierFeaturesConfig more = cfg;
  more.epochs = 3;
  CHECK(ClassifierFeatures::cache_file_name("fashion_mnist", d.images, d.labels, 3, more) != name);
  more = cfg;
  more.cache_path = "/somewhere/else.pt";  // the location is not part of the recipe
  CHECK(ClassifierFeatures::cache_file_name("fashion_mnist", d.images, d.labels, 3, more) == name);
}

// Run by ctest under a shim whose flock fails with ENOSYS ("gan: caches without flock",
// test/CMakeLists.txt): a file system without flock trains without the lock, says so once, and
// leaves one whole cache file and no temporaries.
TEST_CASE("ClassifierFeatures: a file system without flock still gives one usable cache file",
          "[.no_flock]") {
  const Synthetic& d = shared_data();
  pbtnas::test::TempDir dir;
  {
    pbtnas::FileLock probe(dir / "probe.lock");
    REQUIRE(probe.unsupported());  // the shim is in place
  }
  const std::string path = dir / "cache/c.pt";
  std::shared_ptr<ClassifierFeatures> a, b;
  LogLines log_a, log_b;
  std::exception_ptr thread_error;
  std::thread t([&] {
    try {
      a = ClassifierFeatures::load_or_train(test_config(path), d.images, d.labels, 3, torch::kCPU,
                                            log_a.fn());
    } catch (...) {
      thread_error = std::current_exception();
    }
  });
  b = ClassifierFeatures::load_or_train(test_config(path), d.images, d.labels, 3, torch::kCPU,
                                        log_b.fn());
  t.join();
  if (thread_error) std::rethrow_exception(thread_error);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(log_a.has("without the lock"));
  CHECK(log_b.has("without the lock"));
  CHECK(a->check_accuracy() == b->check_accuracy());
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "cache")) {
    const std::string name = e.path().filename().string();
    CHECK(name.find(".tmp.") == std::string::npos);
    files += name == "c.pt";
  }
  CHECK(files == 1);
  LogLines log_c;
  auto c = ClassifierFeatures::load_or_train(test_config(path), d.images, d.labels, 3, torch::kCPU,
                                             log_c.fn());
  CHECK_FALSE(c->freshly_trained());  // the file left is whole and matches
  CHECK(c->check_accuracy() == a->check_accuracy());
}

// The fingerprint names the cache files users already have: a faster computation must give the
// same value. Pinned on images that reach every branch of the quantisation (below -1, above 1,
// exact bounds, halfway points, NaN, infinities).
TEST_CASE("ClassifierFeatures fingerprint values are stable across implementations", "[features]") {
  torch::Tensor x = torch::linspace(-1.3, 1.3, 3 * 1 * 8 * 8).reshape({3, 1, 8, 8});
  x[0][0][0][0] = -1.0f;
  x[0][0][0][1] = 1.0f;
  x[0][0][0][2] = std::nanf("");
  x[0][0][0][3] = std::numeric_limits<float>::infinity();
  x[0][0][0][4] = -std::numeric_limits<float>::infinity();
  x[0][0][0][5] = 0.5f / 127.5f - 1.0f;  // quantises to a .5 boundary
  const torch::Tensor y = torch::tensor({0, 2, 1}, torch::kLong);
  const std::string name = ClassifierFeatures::cache_file_name("fashion_mnist", x, y, 3, ClassifierFeaturesConfig{});
  INFO(name);
  CHECK(name == "pbtnas-fid-classifier-fashion_mnist-b21ad906c529e664.pt");
  // The name from an already computed fingerprint (a worker hashes its images once).
  CHECK(ClassifierFeatures::cache_file_name(
            "fashion_mnist", ClassifierFeatures::fingerprint(x, y, 3, ClassifierFeaturesConfig{})) == name);
}
