// The GAN task's data sets (Fashion-MNIST, CIFAR-10 binary batches written by the test), its final
// evaluation (FID + IS of the EMA generator), its sample grids, and the registry's mapping of the
// `gan:` config section (docs/algorithm.md, "GAN fitness and final evaluation").
#include <catch2/catch.hpp>
#include "unit/gan/gan_test_util.hpp"
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "pbtnas/core/config.hpp"
#include "pbtnas/tasks/gan/gan_spaces.hpp"
#include "pbtnas/tasks/gan/gan_task.hpp"
#include "support/random_projection_features.hpp"
#include "pbtnas/core/seed.hpp"
#include "pbtnas/tasks/gan/gan_entry.hpp"
#include "pbtnas/tasks/registry.hpp"
#include "support/temp_dir.hpp"

using namespace pbtnas;
using namespace pbtnas::gan;

namespace {

// A deterministic feature network with logits: the random projection's features, and K logits
// as a fixed linear map of them.
class ProjectionWithLogits : public FeatureNet {
 public:
  ProjectionWithLogits(int dim, int classes, int channels)
      : proj_(dim, 7, channels), w_(torch::linspace(-2.0, 2.0, dim * classes).reshape({dim, classes})) {}
  torch::Tensor features(const torch::Tensor& x) const override { return proj_.features(x); }
  std::pair<torch::Tensor, torch::Tensor> features_and_logits(const torch::Tensor& x) const override {
    torch::Tensor f = proj_.features(x);
    return {f, f.matmul(w_.to(f.device())) * 10.0};
  }
  std::string describe() const override { return "test projection with logits"; }

 private:
  RandomProjectionFeatures proj_;
  torch::Tensor w_;
};

// Writes data_batch_1..5.bin with `per_file` records each: label = record % 10, red plane =
// label * 20, green = 255, blue = 0 (so the channel order can be checked after scaling).
void write_cifar_batches(const std::string& dir, int per_file) {
  for (int f = 1; f <= 5; ++f) {
    std::ofstream out(dir + "/data_batch_" + std::to_string(f) + ".bin", std::ios::binary);
    for (int r = 0; r < per_file; ++r) {
      const unsigned char label = static_cast<unsigned char>(r % 10);
      out.put(static_cast<char>(label));
      for (int i = 0; i < 1024; ++i) out.put(static_cast<char>(label * 20));
      for (int i = 0; i < 1024; ++i) out.put(static_cast<char>(255));
      for (int i = 0; i < 1024; ++i) out.put(static_cast<char>(0));
    }
  }
}

GanOptions cifar_config(const std::string& dir) {
  GanOptions cfg;
  cfg.dataset = "cifar10";
  cfg.data_dir = dir;
  cfg.features.cache_dir = dir + "/cache";  // the shared images stay in the test's folder
  cfg.space = "gan_easy";
  cfg.model.gf_dim = 8;
  cfg.model.df_dim = 8;
  cfg.model.latent_dim = 12;
  cfg.model.image_channels = 3;
  cfg.d_batch = 4;
  cfg.iterations_per_epoch = 3;
  cfg.fid_samples = 24;
  cfg.final_fid_samples = 40;
  cfg.is_splits = 4;
  cfg.eval_batch_size = 16;
  cfg.grid_samples = 6;
  return cfg;
}

// Width, height, bit depth and colour type from a PNG's IHDR.
std::vector<int> png_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> b(26);
  in.read(reinterpret_cast<char*>(b.data()), 26);
  auto be32 = [&](int o) { return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]; };
  return {be32(16), be32(20), b[24], b[25]};
}

}  // namespace

TEST_CASE("gan task on CIFAR-10 binary batches: 3-channel data, training, FID", "[gan_eval]") {
  test::TempDir tmp;
  write_cifar_batches(tmp.str(), 8);
  const GanOptions cfg = cifar_config(tmp.str());
  GanTask task(cfg, 5, std::make_shared<RandomProjectionFeatures>(8, 3, 3));
  REQUIRE(task.train_images().sizes() == torch::IntArrayRef({40, 3, 32, 32}));
  const torch::Tensor x = task.train_images();
  CHECK(x.select(1, 1).eq(1.0).all().item<bool>());    // green 255 -> +1
  CHECK(x.select(1, 2).eq(-1.0).all().item<bool>());   // blue 0 -> -1
  CHECK(x[3][0][5][7].item<double>() == Approx(60.0 / 127.5 - 1.0));  // record 3: red 60

  Member m = task.create(test::random_genome(task.space(), 9), 11, torch::kCPU);
  const StepStats s = task.train(m, 0, 1, 77);
  CHECK_FALSE(s.diverged);
  CHECK(s.samples == 12);
  const double fid = task.fid(m);
  CHECK(std::isfinite(fid));
  CHECK(fid > 0.0);
  CHECK(task.sample_ema(m, torch::zeros({2, 12})).sizes() == torch::IntArrayRef({2, 3, 32, 32}));

  // The data set's channel count must match the model's.
  GanOptions gray = cfg;
  gray.model.image_channels = 1;
  CHECK_THROWS_WITH(GanTask(gray, 5, std::make_shared<RandomProjectionFeatures>(8, 3, 3)),
                    Catch::Contains("3 channel(s)"));
  // Missing batches name the folder and the fix.
  GanOptions missing = cfg;
  missing.data_dir = tmp.str() + "/nowhere";
  CHECK_THROWS_WITH(GanTask(missing, 5, std::make_shared<RandomProjectionFeatures>(8, 3, 3)),
                    Catch::Contains("nowhere") && Catch::Contains("gan.data_dir"));
}

TEST_CASE("gan task final evaluation: FID on fresh latents and IS from the logits", "[gan_eval]") {
  test::TempDir tmp;
  write_cifar_batches(tmp.str(), 8);
  GanOptions cfg = cifar_config(tmp.str());
  GanTask task(cfg, 5, std::make_shared<ProjectionWithLogits>(8, 5, 3));
  Member m = task.create(test::random_genome(task.space(), 3), 4, torch::kCPU);
  task.train(m, 0, 1, 1);

  const auto metrics = task.final_metrics(m);
  std::map<std::string, double> v;
  for (const auto& x : metrics) v[x.name] = x.value;
  REQUIRE(v.count("fid"));
  REQUIRE(v.count("inception_score"));
  CHECK(v.at("fid_samples") == 40);
  CHECK(std::isfinite(v.at("fid")));
  CHECK(v.at("fid") > 0.0);
  CHECK(v.at("fid") != Approx(task.fid(m)));  // other latents and more samples than the fitness
  CHECK(v.at("inception_score") >= 1.0);
  CHECK(v.at("inception_score") <= 5.0 + 1e-9);  // at most the number of classes
  CHECK(v.at("inception_score_std") >= 0.0);
  // Deterministic: the same member gives the same numbers.
  const auto again = task.final_metrics(m);
  REQUIRE(again.size() == metrics.size());
  for (std::size_t i = 0; i < metrics.size(); ++i) CHECK(again[i].value == metrics[i].value);

  // A feature network without logits gives FID only; final_fid_samples 0 turns it off.
  GanTask no_logits(cfg, 5, std::make_shared<RandomProjectionFeatures>(8, 3, 3));
  Member m2 = no_logits.create(test::random_genome(no_logits.space(), 3), 4, torch::kCPU);
  for (const auto& x : no_logits.final_metrics(m2)) CHECK(x.name.rfind("inception", 0) != 0);
  cfg.final_fid_samples = 0;
  GanTask off(cfg, 5, std::make_shared<RandomProjectionFeatures>(8, 3, 3));
  CHECK(off.final_metrics(m2).empty());
}

TEST_CASE("gan task sample grids: fixed latents, PNG of the expected size", "[gan_eval]") {
  test::TempDir tmp;
  write_cifar_batches(tmp.str(), 8);
  GanOptions cfg = cifar_config(tmp.str());  // 6 samples -> 3 per row, 2 rows
  GanTask task(cfg, 5, std::make_shared<RandomProjectionFeatures>(8, 3, 3));
  Member m = task.create(test::random_genome(task.space(), 1), 2, torch::kCPU);
  const std::string a = tmp / "samples/gen_000000/member_000.png", b = tmp / "again.png";
  REQUIRE(task.write_preview(m, a));
  REQUIRE(task.write_preview(m, b));
  CHECK(png_header(a) == std::vector<int>{3 * 34 + 2, 2 * 34 + 2, 8, 2});  // RGB
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  const std::string da((std::istreambuf_iterator<char>(fa)), {}), db((std::istreambuf_iterator<char>(fb)), {});
  CHECK(da == db);  // the same latents every time
  cfg.grid_samples = 0;
  GanTask none(cfg, 5, std::make_shared<RandomProjectionFeatures>(8, 3, 3));
  CHECK_FALSE(none.write_preview(m, tmp / "none.png"));
  CHECK_FALSE(std::filesystem::exists(tmp / "none.png"));
}

TEST_CASE("registry: the gan config section maps onto the task", "[gan_eval]") {
  RunConfig cfg = parse_run_config("task: gan\ngan: {gf_dim: 8, df_dim: 4, latent_dim: 12, d_batch: 6, space: gan_easy}\n", "t");
  const GanOptions& t = cfg.options<GanOptions>();
  CHECK(t.dataset == "fashion_mnist");
  CHECK(t.data_dir == kFashionMnistDir);
  CHECK(t.model.image_channels == 1);
  CHECK(t.model.gf_dim == 8);
  CHECK(t.model.df_dim == 4);
  CHECK(t.model.bottom_width == 4);
  CHECK(t.d_batch == 6);
  CHECK(task_space(cfg).size() == 21);
  auto hard = std::make_shared<GanOptions>(t);
  hard->space = "gan_hard";
  cfg.task_options = hard;
  CHECK(task_space(cfg).size() == 72);

  // The feature classifier's cache: the configured folder, else the user cache folder, never
  // the data folder (which may belong to a package).
  test::TempDir tmp;
  GanOptions c = parse_run_config("task: gan\n", "t").options<GanOptions>();
  c.features.cache_dir = tmp / "cache";
  CHECK(feature_cache_dir(c) == tmp / "cache");
  c.features.cache_dir.clear();
  c.data_dir = tmp.str();  // a writable data folder is not used
  const char* old = std::getenv("XDG_CACHE_HOME");
  const std::string saved = old ? old : "";
  setenv("XDG_CACHE_HOME", (tmp / "xdg").c_str(), 1);
  CHECK(feature_cache_dir(c) == tmp / "xdg/pbtnas");
  if (old) setenv("XDG_CACHE_HOME", saved.c_str(), 1); else unsetenv("XDG_CACHE_HOME");
}
