// The real FID/IS feature networks (features.hpp): TorchScriptFeatures against tiny TorchScript
// modules built here (the [-1, 1] -> [0, 255] conversion, quantisation, 1 -> 3 channels, output
// contract, errors), and ClassifierFeatures on a small synthetic data set (training, check
// accuracy, bit-identical retraining, the cache: reuse, concurrent users, corrupt or foreign
// files, unwritable locations, file names).
#include "pbtnas/tasks/gan/features.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/script.h>

#include <algorithm>
#include <exception>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
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

// forward(x) -> (features N x 9 = [x[:, :, 0, 0], x[:, :, 0, 1], x.sum over H, W],
//                logits N x 4 = x.mean over H, W @ w)  or only the features.
void save_tiny_module(const std::string& path, bool with_logits) {
  torch::jit::Module m("Tiny");
  m.register_parameter("w", torch::arange(12, torch::kFloat32).reshape({3, 4}) / 10.0, false);
  const std::string feat = "    feat = torch.cat([x[:, :, 0, 0], x[:, :, 0, 1], x.sum([2, 3])], 1)\n";
  m.define("def forward(self, x):\n" + feat +
           (with_logits ? "    return (feat, torch.matmul(x.mean([2, 3]), self.w))\n"
                        : "    return feat\n"));
  m.save(path);
}

void save_module(const std::string& path, const std::string& forward_source) {
  torch::jit::Module m("Odd");
  m.define(forward_source);
  m.save(path);
}

// Images in [-1, 1] (plus a few outside) whose pixel values u + f (u integer, f in {0.2, 0.3,
// 0.7}) are far from rounding ties; `pixels` receives the expected [0, 255] integers.
torch::Tensor images_with_known_pixels(std::int64_t n, std::int64_t c, torch::Tensor& pixels) {
  auto gen = input_generator();
  const torch::Tensor u = torch::randint(-20, 276, {n, c, 4, 4}, gen, torch::kFloat64);
  const torch::Tensor which = torch::randint(0, 3, {n, c, 4, 4}, gen, torch::kInt64);
  const torch::Tensor f = torch::tensor({0.2, 0.3, 0.7}, torch::kFloat64).index({which});
  pixels = (u + (f > 0.5).to(torch::kFloat64)).clamp(0.0, 255.0);
  return ((u + f) / 127.5 - 1.0).to(torch::kFloat32);
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

// ---------------------------------------------------------------- TorchScriptFeatures

TEST_CASE("TorchScriptFeatures converts images like clean-fid and returns the module's outputs",
          "[features]") {
  pbtnas::test::TempDir dir;
  const std::string path = dir / "tiny.pt";
  save_tiny_module(path, true);
  TorchScriptFeatures net(path, torch::kCPU);
  CHECK(net.feature_dim() == 9);
  CHECK(net.num_logits() == 4);
  CHECK(net.describe() == "torchscript " + path + " (9-d, logits 4)");

  const std::int64_t channels = GENERATE(1, 3);
  torch::Tensor pixels;
  const torch::Tensor images = images_with_known_pixels(5, channels, pixels);
  const torch::Tensor p3 = pixels.expand({-1, 3, -1, -1});  // 1 channel replicated to 3
  using torch::indexing::Slice;
  const torch::Tensor want_feat =
      torch::cat({p3.index({Slice(), Slice(), 0, 0}), p3.index({Slice(), Slice(), 0, 1}),
                  p3.sum({2, 3})},
                 1)
          .to(torch::kFloat32);
  const torch::Tensor w = torch::arange(12, torch::kFloat64).reshape({3, 4}) / 10.0;
  const torch::Tensor want_logits = p3.mean({2, 3}).matmul(w);

  CHECK(torch::equal(TorchScriptFeatures::to_pixel_values(images, torch::kCPU),
                     p3.to(torch::kFloat32)));
  const auto [feat, logits] = net.features_and_logits(images);
  CHECK(torch::equal(feat, want_feat));  // integers: exact in float32
  REQUIRE(logits.defined());
  CHECK(torch::allclose(logits.to(torch::kFloat64), want_logits, 1e-6, 1e-4));
  CHECK(torch::equal(net.features(images), want_feat));
  CHECK(!feat.requires_grad());

  CHECK_THROWS_AS(net.features(torch::zeros({2, 2, 4, 4})), std::invalid_argument);
  CHECK_THROWS_AS(net.features(torch::zeros({2, 4, 4})), std::invalid_argument);
}

TEST_CASE("TorchScriptFeatures: a single-tensor module gives features and no logits",
          "[features]") {
  pbtnas::test::TempDir dir;
  const std::string path = dir / "feat_only.pt";
  save_tiny_module(path, false);
  TorchScriptFeatures net(path, torch::kCPU);
  CHECK(net.num_logits() == 0);
  CHECK(net.describe() == "torchscript " + path + " (9-d, no logits)");
  const auto [feat, logits] = net.features_and_logits(torch::zeros({3, 1, 8, 8}));
  CHECK(feat.sizes() == torch::IntArrayRef({3, 9}));
  CHECK(torch::equal(feat.slice(1, 0, 6), torch::full({3, 6}, 128.0f)));  // round(127.5) = 128
  CHECK(!logits.defined());
}

TEST_CASE("TorchScriptFeatures: another network exported to the same path gets another cache key",
          "[features]") {
  pbtnas::test::TempDir dir;
  const std::string path = dir / "net.pt";
  save_tiny_module(path, true);
  const std::string before = TorchScriptFeatures(path, torch::kCPU).cache_key();
  CHECK(before == TorchScriptFeatures(path, torch::kCPU).cache_key());  // stable for the same file
  save_tiny_module(path, true);  // the same dimensions, a new file
  std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) + std::chrono::seconds(5));
  const TorchScriptFeatures again(path, torch::kCPU);
  CHECK(again.describe() == TorchScriptFeatures(path, torch::kCPU).describe());
  CHECK(again.cache_key() != before);
}

TEST_CASE("TorchScriptFeatures: missing, garbage and off-contract files are errors",
          "[features]") {
  pbtnas::test::TempDir dir;
  SECTION("missing file") {
    const std::string path = dir / "absent.pt";
    CHECK_THROWS_WITH(TorchScriptFeatures(path, torch::kCPU),
                      Contains(path) && Contains("gan.features.torchscript") &&
                          Contains("built-in classifier"));
  }
  SECTION("not a TorchScript file") {
    const std::string path = dir / "garbage.pt";
    std::ofstream(path) << "this is not a TorchScript archive\n";
    CHECK_THROWS_WITH(TorchScriptFeatures(path, torch::kCPU),
                      Contains(path) && Contains("cannot load"));
  }
  SECTION("a 4-d feature map instead of N x D") {
    const std::string path = dir / "map.pt";
    save_module(path, "def forward(self, x):\n    return x\n");
    CHECK_THROWS_WITH(TorchScriptFeatures(path, torch::kCPU),
                      Contains(path) && Contains("expected features as a floating N x D"));
  }
  SECTION("not a tensor") {
    const std::string path = dir / "int.pt";
    save_module(path, "def forward(self, x):\n    return 3\n");
    CHECK_THROWS_WITH(TorchScriptFeatures(path, torch::kCPU),
                      Contains(path) && Contains("returned a Int") && Contains("tuple"));
  }
  SECTION("a tuple of three") {
    const std::string path = dir / "three.pt";
    save_module(path, "def forward(self, x):\n    y = x.mean([2, 3])\n    return (y, y, y)\n");
    CHECK_THROWS_WITH(TorchScriptFeatures(path, torch::kCPU),
                      Contains("tuple of 3 elements"));
  }
  SECTION("feature dimension that depends on the input size") {
    const std::string path = dir / "flat.pt";
    save_module(path, "def forward(self, x):\n    return x.flatten(1)\n");
    TorchScriptFeatures net(path, torch::kCPU);  // the probe sees 3 * 32 * 32
    CHECK(net.feature_dim() == 3072);
    CHECK_THROWS_WITH(net.features(torch::zeros({2, 1, 8, 8})), Contains("3072 columns"));
  }
}

// ---------------------------------------------------------------- ClassifierFeatures

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
