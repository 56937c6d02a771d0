// TorchScriptFeatures (features.hpp) against tiny TorchScript modules built here: the [-1, 1] ->
// [0, 255] conversion, quantisation, 1 -> 3 channels, the output contract, errors.
#include "pbtnas/tasks/gan/features.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/script.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/seed.hpp"
#include "support/temp_dir.hpp"

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
