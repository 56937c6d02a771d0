// The STL-10 GAN setting (docs/gan.md, "STL-10"): GanEasy's STL projections, GanHard and
// AutoGAN-D at 48 px, the `gan:` keys and jobs/configs/stl10_ganhard.yaml, and GAN training
// steps on STL-10 files written by the test in the official binary format.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "pbtnas/core/seed.hpp"
#include "pbtnas/tasks/gan/features.hpp"
#include "pbtnas/tasks/gan/gan_entry.hpp"
#include "pbtnas/tasks/gan/gan_models.hpp"
#include "pbtnas/tasks/gan/gan_spaces.hpp"
#include "pbtnas/tasks/gan/gan_task.hpp"
#include "pbtnas/tasks/registry.hpp"
#include "pbtnas/tasks/stl10.hpp"
#include "support/random_projection_features.hpp"
#include "support/temp_dir.hpp"
#include "unit/gan/gan_test_util.hpp"

using namespace pbtnas;
using namespace pbtnas::gan;

namespace {

GanModelConfig stl_model(bool stl_projections) {
  GanModelConfig cfg;
  cfg.gf_dim = 8;
  cfg.df_dim = 8;
  cfg.latent_dim = 12;
  cfg.bottom_width = 6;  // 48 x 48
  cfg.image_channels = 3;
  cfg.stl_projections = stl_projections;
  return cfg;
}

std::map<std::string, std::vector<std::int64_t>> shapes(const torch::nn::Module& net) {
  std::map<std::string, std::vector<std::int64_t>> out;
  for (const auto& p : net.named_parameters()) out[p.key()] = p.value().sizes().vec();
  return out;
}

// G and D forward at 48 px: G(z) is N x 3 x 48 x 48 in [-1, 1], D gives N x 1 finite scores for
// real and generated images, and a hinge loss backpropagates.
void check_forward_48(GanNetImpl& net, int latent, std::uint64_t seed) {
  torch::manual_seed(static_cast<std::int64_t>(seed));
  const torch::Tensor z = torch::randn({2, latent});
  net.train();
  const torch::Tensor fake = net.generate(z);
  REQUIRE(fake.sizes() == torch::IntArrayRef({2, 3, 48, 48}));
  CHECK(fake.abs().max().item<double>() <= 1.0);
  const torch::Tensor real = torch::rand({2, 3, 48, 48}) * 2 - 1;
  const torch::Tensor d_real = net.discriminate(real), d_fake = net.discriminate(fake);
  REQUIRE(d_real.sizes() == torch::IntArrayRef({2, 1}));
  REQUIRE(d_fake.sizes() == torch::IntArrayRef({2, 1}));
  const torch::Tensor loss = torch::relu(1.0 - d_real).mean() + torch::relu(1.0 + d_fake).mean();
  REQUIRE(std::isfinite(loss.item<double>()));
  loss.backward();
}

// STL-10 image files in the official layout (column-major planes): image `id` is the constant
// (id * 13 + 7) % 256 in every channel, so its resized, scaled value is known.
int image_value(int id) { return (id * 13 + 7) % 256; }
// The value of image `id` in [-1, 1], computed as the reader scales (float32 tensor arithmetic).
float scaled_value(int id) {
  return torch::full({1}, static_cast<float>(image_value(id))).div_(127.5).sub_(1.0).item<float>();
}

void write_stl_files(const std::string& dir, int n_train, int n_unlabeled, bool labels = true) {
  auto write_images = [](const std::string& path, int first, int n) {
    std::ofstream out(path, std::ios::binary);
    for (int i = first; i < first + n; ++i)
      out << std::string(static_cast<std::size_t>(kStl10ImageBytes), static_cast<char>(image_value(i)));
  };
  write_images(dir + "/train_X.bin", 0, n_train);
  write_images(dir + "/unlabeled_X.bin", n_train, n_unlabeled);
  if (labels) {
    std::ofstream out(dir + "/train_y.bin", std::ios::binary);
    for (int i = 0; i < n_train; ++i) out.put(static_cast<char>(1 + i % 10));
  }
}

GanOptions stl_task_config(const std::string& dir, const std::string& space) {
  GanOptions cfg;
  cfg.dataset = "stl10";
  cfg.data_dir = dir;
  cfg.features.cache_dir = dir + "/cache";  // the shared images stay in the test's folder
  cfg.features.classifier_epochs = 1;
  cfg.space = space;
  cfg.model = stl_model(space == "gan_easy");
  cfg.d_batch = 4;
  cfg.iterations_per_epoch = 2;
  cfg.fid_samples = 16;
  cfg.final_fid_samples = 0;
  cfg.eval_batch_size = 16;
  cfg.grid_samples = 4;
  return cfg;
}

}  // namespace

TEST_CASE("STL GanEasy generator: two projections of z's halves, 48 x 48 output", "[gan][stl10]") {
  const GanModelConfig cfg = stl_model(true);
  const Genome g = test::random_genome(gan_easy_space(), 3);
  auto net = std::make_shared<GanNetImpl>(GanSpaceKind::Easy, g, cfg);
  init_gan_net(*net, 5);
  const auto s = shapes(*net);
  // z[0:6] -> 6 x 6 x gf (cell1's input), z[6:12] -> 12 x 12 x gf (added after cell1), no third.
  CHECK(s.at("generator.fixed_projections.0.linear.weight") == std::vector<std::int64_t>{6 * 6 * 8, 6});
  CHECK(s.at("generator.fixed_projections.0.linear.bias") == std::vector<std::int64_t>{6 * 6 * 8});
  CHECK(s.at("generator.fixed_projections.1.linear.weight") == std::vector<std::int64_t>{12 * 12 * 8, 6});
  CHECK(s.count("generator.fixed_projections.2.linear.weight") == 0);
  check_forward_48(*net, cfg.latent_dim, 1);

  // Projection 0 reads z[0:6] only, projection 1 z[6:12] only: with a projection's weights zeroed
  // the half of z it reads no longer matters.
  {
    net->eval();
    torch::NoGradGuard no_grad;
    auto params = net->named_parameters();
    for (int i = 0; i < 2; ++i) {
      INFO("projection " << i);
      const torch::Tensor z = torch::randn({2, 12});
      torch::Tensor z2 = z.clone();
      z2.slice(1, 6 * i, 6 * i + 6).normal_();
      const torch::Tensor w = params["generator.fixed_projections." + std::to_string(i) + ".linear.weight"];
      const torch::Tensor saved = w.clone();
      CHECK_FALSE(net->generate(z).allclose(net->generate(z2)));
      w.zero_();
      CHECK(net->generate(z).equal(net->generate(z2)));
      w.copy_(saved);
    }
  }

  // The 'part_target' CIFAR projections are unchanged without stl_projections.
  auto plain = std::make_shared<GanNetImpl>(GanSpaceKind::Easy, g, stl_model(false));
  const auto p = shapes(*plain);
  CHECK(p.at("generator.fixed_projections.0.linear.weight") == std::vector<std::int64_t>{6 * 6 * 8, 4});
  CHECK(p.at("generator.fixed_projections.2.linear.weight") == std::vector<std::int64_t>{24 * 24 * 8, 4});
  check_forward_48(*plain, 12, 2);

  // GanHard has no fixed projections; an odd latent cannot be halved.
  CHECK_THROWS_WITH(GanNetImpl(GanSpaceKind::Hard, test::random_genome(gan_hard_space(), 1), stl_model(true)),
                    Catch::Contains("gan_easy only"));
  GanModelConfig odd = stl_model(true);
  odd.latent_dim = 15;
  CHECK_THROWS_WITH(validate_model_config(odd), Catch::Contains("odd"));
}

TEST_CASE("GanHard at 48 px: G and D forward shapes for random genomes and every down op", "[gan][stl10]") {
  const SearchSpace space = gan_hard_space();
  for (bool faithful : {true, false}) {
    GanModelConfig cfg = stl_model(false);
    cfg.faithful_d_block = faithful;
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
      INFO("faithful " << faithful << ", genome seed " << seed);
      auto net = std::make_shared<GanNetImpl>(GanSpaceKind::Hard, test::random_genome(space, seed), cfg);
      init_gan_net(*net, seed);
      check_forward_48(*net, cfg.latent_dim, seed);
    }
    // Every D block present and downsampling (48 -> 24 -> 12 -> 6 -> 3) with every down op pair:
    // the branches of a block agree in size (they are summed when faithful_d_block is false).
    for (int d = 0; d < 8; ++d) {
      Genome g = test::random_genome(space, 100 + static_cast<std::uint64_t>(d));
      for (int b = 0; b < 4; ++b) {
        const std::size_t base = 32 + 10 * static_cast<std::size_t>(b);
        for (std::size_t c = 0; c < 7; ++c) g[base + c] = (b == 0 && c < 3) ? 1 : 3;  // conv_3x3
        g[base + 7] = 1;                                                          // downsample
        g[base + 8] = d;
        g[base + 9] = (d + 3) % 8;
      }
      INFO("faithful " << faithful << ", down0 " << d);
      auto net = std::make_shared<GanNetImpl>(GanSpaceKind::Hard, g, cfg);
      init_gan_net(*net, 9);
      check_forward_48(*net, cfg.latent_dim, 50 + static_cast<std::uint64_t>(d));
    }
  }
  // GanHard's projections at bottom width 6: 'prev' of projection 0 is 3 wide, upsampled x2.
  Genome g = test::random_genome(space, 7);
  g[0] = 4;  // proj0.linear = part_prev
  auto net = std::make_shared<GanNetImpl>(GanSpaceKind::Hard, g, stl_model(false));
  CHECK(shapes(*net).at("generator.projections.0.linear.weight") == std::vector<std::int64_t>{3 * 3 * 8, 4});
  check_forward_48(*net, 12, 3);
}

TEST_CASE("AutoGAN-D (GanEasy) at 48 px", "[gan][stl10]") {
  auto net = std::make_shared<GanNetImpl>(GanSpaceKind::Easy, test::random_genome(gan_easy_space(), 4), stl_model(true));
  init_gan_net(*net, 4);
  check_forward_48(*net, 12, 4);
}

TEST_CASE("gan.dataset stl10: keys, implied settings and jobs/configs/stl10_ganhard.yaml", "[gan][stl10]") {
  const RunConfig c = load_run_config(std::string(PBTNAS_SOURCE_DIR) + "/jobs/configs/stl10_ganhard.yaml");
  CHECK(c.selection.population_size == 24);
  CHECK(c.n_steps() == 30);
  const auto& g = c.options<GanOptions>();
  CHECK(g.dataset == "stl10");
  CHECK(g.data_dir == "data/stl10_binary");
  CHECK(g.space == "gan_hard");
  CHECK(g.model.bottom_width == 6);
  CHECK(g.model.image_channels == 3);
  CHECK_FALSE(g.model.stl_projections);
  CHECK(g.model.gf_dim == 270);
  CHECK(g.model.df_dim == 128);
  CHECK(g.model.latent_dim == 120);
  CHECK(g.d_batch == 128);
  CHECK(g.d_batch * g.g_batch_multiplier == 256);
  CHECK(g.n_critic == 5);
  CHECK(g.iterations_per_epoch == 0);
  // One pass over 105,000 images at batch 128: 821 D steps, of which 165 are followed by a G step.
  const std::int64_t d_steps = (105000 + g.d_batch - 1) / g.d_batch;
  CHECK(d_steps == 821);
  CHECK((d_steps + g.n_critic - 1) / g.n_critic == 165);
  CHECK(g.fid_samples == 5000);
  CHECK(g.final_fid_samples == 50000);
  CHECK(g.reference_samples == 0);

  // GanEasy on STL-10 gets the STL projections unless told otherwise; GanHard cannot have them.
  const auto easy = parse_run_config("task: gan\ngan: {dataset: stl10, data_dir: d, space: gan_easy}\n", "t");
  CHECK(easy.options<GanOptions>().model.stl_projections);
  CHECK(easy.options<GanOptions>().model.bottom_width == 6);
  const auto easy_off =
      parse_run_config("task: gan\ngan: {dataset: stl10, data_dir: d, space: gan_easy, stl_projections: false}\n", "t");
  CHECK_FALSE(easy_off.options<GanOptions>().model.stl_projections);
  CHECK_THROWS_WITH(parse_run_config("task: gan\ngan: {dataset: stl10, data_dir: d, stl_projections: true}\n", "t"),
                    Catch::Contains("gan.stl_projections") && Catch::Contains("gan_easy"));
  CHECK_THROWS_WITH(parse_run_config("task: gan\ngan: {dataset: stl10}\n", "t"),
                    Catch::Contains("gan.data_dir") && Catch::Contains("stl10_binary"));
  // CIFAR-10 is untouched: 32 x 32, no STL projections even for GanEasy.
  const auto cifar = parse_run_config("task: gan\ngan: {dataset: cifar10, data_dir: d, space: gan_easy}\n", "t");
  CHECK(cifar.options<GanOptions>().model.bottom_width == 4);
  CHECK_FALSE(cifar.options<GanOptions>().model.stl_projections);
}

TEST_CASE("gan task on STL-10 files: train+unlabeled at 48 px, cached, trained, scored", "[gan][stl10]") {
  test::TempDir tmp;
  write_stl_files(tmp.str(), 12, 8);
  for (const std::string space : {"gan_easy", "gan_hard"}) {
    INFO(space);
    const GanOptions cfg = stl_task_config(tmp.str(), space);
    GanTask task(cfg, 5, std::make_shared<RandomProjectionFeatures>(8, 3, 3));
    // train_X.bin then unlabeled_X.bin, each constant image resized (still constant) and scaled.
    const torch::Tensor x = task.train_images();
    REQUIRE(x.sizes() == torch::IntArrayRef({20, 3, 48, 48}));
    for (int i = 0; i < 20; ++i)
      CHECK(x[i].eq(scaled_value(i)).all().item<bool>());
    CHECK(task.reference_stats().count == 20);

    Member m = task.create(test::random_genome(task.space(), 9), 11, torch::kCPU);
    const StepStats s = task.train(m, 0, 1, 77);  // 2 D steps and 1 G step
    CHECK_FALSE(s.diverged);
    CHECK(s.samples == 8);
    CHECK(std::isfinite(task.fitness(m)));
    CHECK(task.sample_ema(m, torch::zeros({2, 12})).sizes() == torch::IntArrayRef({2, 3, 48, 48}));
    CHECK(task.write_preview(m, tmp.str() + "/grid_" + space + ".png"));
  }
  // The resized images were written once into the cache folder and are mapped from there.
  int cached = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.str() + "/cache"))
    if (e.path().filename().string().rfind("pbtnas-gan-stl10-48-", 0) == 0 && e.path().extension() == ".tensor") ++cached;
  CHECK(cached == 1);
  GanOptions cfg = stl_task_config(tmp.str(), "gan_hard");
  const GanData shared = load_gan_data(cfg);
  cfg.share_data = false;
  const GanData own = load_gan_data(cfg);
  CHECK(shared.images.equal(own.images));
  // Labels: train_X.bin's only (the first 12 images), 0..9.
  CHECK(own.labels.equal(torch::arange(12, torch::kInt64).remainder(10)));
  cfg.train_limit = 5;
  CHECK(load_gan_data(cfg).images.size(0) == 5);
  CHECK(load_gan_data(cfg).labels.size(0) == 5);
  cfg.train_limit = 15;
  CHECK(load_gan_data(cfg).labels.size(0) == 12);
  // With a TorchScript feature network the labels are not read.
  cfg.train_limit = 0;
  cfg.features.torchscript = "unused.pt";
  CHECK(load_gan_data(cfg).labels.size(0) == 0);
}

TEST_CASE("gan task on STL-10 files: the built-in classifier learns from the labelled images", "[gan][stl10]") {
  test::TempDir tmp;
  write_stl_files(tmp.str(), 12, 8);
  const GanOptions cfg = stl_task_config(tmp.str(), "gan_hard");
  GanData data = load_gan_data(cfg);
  auto features = make_feature_net(cfg, data, torch::kCPU, nullptr);
  auto classifier = std::dynamic_pointer_cast<ClassifierFeatures>(features);
  REQUIRE(classifier);
  CHECK(classifier->side() == 48);
  CHECK(classifier->channels() == 3);
  CHECK(features->features(data.images.slice(0, 0, 3)).sizes() == torch::IntArrayRef({3, kClassifierFeatureDim}));
  GanTask task(cfg, 5, features, std::move(data));
  CHECK(task.reference_stats().count == 20);  // all 20 images, not only the labelled ones
  CHECK(task.reference_stats().mean.size(0) == kClassifierFeatureDim);
}

TEST_CASE("gan task on STL-10 files: missing and bad files name the file and the fix", "[gan][stl10]") {
  test::TempDir tmp;
  GanOptions cfg = stl_task_config(tmp.str() + "/stl10_binary", "gan_hard");
  CHECK_THROWS_WITH(load_gan_data(cfg), Catch::Contains("train_X.bin") && Catch::Contains("gan.data_dir") &&
                                            Catch::Contains("stl10_binary.tar.gz"));
  std::filesystem::create_directory(tmp.str() + "/stl10_binary");
  write_stl_files(tmp.str() + "/stl10_binary", 12, 8, false);
  CHECK_THROWS_WITH(load_gan_data(cfg), Catch::Contains("train_y.bin") && Catch::Contains("gan.features.torchscript"));
  std::ofstream(tmp.str() + "/stl10_binary/unlabeled_X.bin", std::ios::app) << "extra";
  CHECK_THROWS_WITH(load_gan_data(cfg), Catch::Contains("unlabeled_X.bin") && Catch::Contains("27648"));
  // The images are resized to 8 * bottom_width (the config sets 6 for stl10; code may ask for 32).
  write_stl_files(tmp.str() + "/stl10_binary", 12, 8);
  cfg.model.bottom_width = 4;
  const GanData small = load_gan_data(cfg);
  CHECK(small.images.sizes() == torch::IntArrayRef({20, 3, 32, 32}));
  CHECK(small.images[3].eq(scaled_value(3)).all().item<bool>());
}
