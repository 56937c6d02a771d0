// ClassifyTask on a synthetic IDX data set written by the test, and on the real Fashion-MNIST
// when Debian's dataset-fashion-mnist package is installed.
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>

#include "pbtnas/core/seed.hpp"
#include "pbtnas/tasks/classify/classify.hpp"
#include "pbtnas/tasks/idx.hpp"
#include "support/seed.hpp"
#include "support/skip.hpp"
#include "task_test_util.hpp"

using namespace pbtnas;
using pbtnas::test::TempDir;

namespace {

Genome mixed_genome(const SearchSpace& space) {
  Genome g(space.size(), 0);
  for (std::size_t i = 0; i < space.size(); ++i)
    g[i] = static_cast<int>((i * 5 + 1) % space.gene(i).options.size());
  return g;
}

bool same_parameters(const Member& a, const Member& b) {
  const auto pa = a.model->named_parameters();
  const auto pb = b.model->named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& p : pa)
    if (!p.value().equal(pb[p.key()])) return false;
  return true;
}

}  // namespace

TEST_CASE("classify task: data split is deterministic and disjoint", "[classify][task]") {
  TempDir dir;
  const ClassifyOptions cfg = test::synthetic_classify_config(dir, 250, 40, test::test_seed());
  const ClassifyTask a(cfg, 7), b(cfg, 7), c(cfg, 8);
  CHECK(a.val_size() == 50);
  CHECK(a.train_size() == 200);
  CHECK(a.test_size() == 40);
  CHECK(a.fitness_name() == "val_acc");
  CHECK(a.space().size() == 9);
  CHECK(a.val_indices().equal(b.val_indices()));
  CHECK_FALSE(a.val_indices().equal(c.val_indices()));
  const auto sorted = std::get<0>(a.val_indices().sort());
  CHECK(std::get<0>(torch::_unique(sorted)).size(0) == 50);
  CHECK(sorted.min().item<std::int64_t>() >= 0);
  CHECK(sorted.max().item<std::int64_t>() < 250);
}

TEST_CASE("classify task: create is deterministic and sets up one AdamW", "[classify][task]") {
  TempDir dir;
  const ClassifyOptions cfg = test::synthetic_classify_config(dir, 100, 20, 3);
  const ClassifyTask task(cfg, 1);
  const Genome g = mixed_genome(task.space());
  const Member a = task.create(g, 11, torch::kCPU), b = task.create(g, 11, torch::kCPU);
  const Member c = task.create(g, 12, torch::kCPU);
  CHECK(same_parameters(a, b));
  CHECK_FALSE(same_parameters(a, c));
  CHECK(a.genome == g);
  CHECK(a.average == nullptr);
  REQUIRE(a.optimizers.size() == 1);
  CHECK(dynamic_cast<torch::optim::AdamW*>(a.optimizers[0].get()) != nullptr);
  CHECK(ClassifyTask::parameter_count(a) == count_parameters(*a.model));
  Genome bad = g;
  bad[0] = 99;
  CHECK_THROWS_AS(task.create(bad, 1, torch::kCPU), std::invalid_argument);
}

TEST_CASE("classify task: training is deterministic and epoch-addressable", "[classify][task]") {
  TempDir dir;
  ClassifyOptions cfg = test::synthetic_classify_config(dir, 200, 20, 5);
  const ClassifyTask task(cfg, 1);
  const Genome g = mixed_genome(task.space());
  Member a = task.create(g, 3, torch::kCPU), b = task.create(g, 3, torch::kCPU);
  Member c = task.create(g, 3, torch::kCPU);
  const StepStats sa = task.train(a, 0, 2, 99);
  const StepStats sb = task.train(b, 0, 2, 99);
  CHECK(sa.samples == 2 * task.train_size());
  CHECK_FALSE(sa.diverged);
  CHECK(sa.train_loss == sb.train_loss);
  CHECK(same_parameters(a, b));
  // Two one-epoch calls visit the same batches as one two-epoch call.
  task.train(c, 0, 1, 99);
  task.train(c, 1, 1, 99);
  CHECK(same_parameters(a, c));
  CHECK(task.fitness(a) == task.fitness(b));

  SECTION("samples_per_epoch fixes the samples of an epoch") {
    cfg.samples_per_epoch = 70;
    const ClassifyTask short_task(cfg, 1);
    Member m = short_task.create(g, 3, torch::kCPU);
    const StepStats s = short_task.train(m, 4, 3, 5);
    CHECK(s.samples == 210);
    CHECK(std::isfinite(s.train_loss));
  }
}

TEST_CASE("classify task: images shared through the node cache train exactly like private ones", "[classify][task]") {
  TempDir dir;
  ClassifyOptions shared = test::synthetic_classify_config(dir, 200, 40, test::test_seed());
  ClassifyOptions own = shared;
  own.data.share = false;
  const ClassifyTask a(shared, 5), b(own, 5);
  // One file per image set in the cache folder, written by the first task.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(shared.data.cache_dir))
    files += e.path().extension() == ".tensor";
  CHECK(files == 2);
  const ClassifyTask c(shared, 5);  // maps the files the first one wrote
  Member ma = a.create(mixed_genome(a.space()), 3, torch::kCPU);
  Member mb = b.create(mixed_genome(b.space()), 3, torch::kCPU);
  Member mc = c.create(mixed_genome(c.space()), 3, torch::kCPU);
  const StepStats sa = a.train(ma, 0, 1, 11), sb = b.train(mb, 0, 1, 11), sc = c.train(mc, 0, 1, 11);
  CHECK(sa.train_loss == sb.train_loss);
  CHECK(sc.train_loss == sb.train_loss);
  CHECK(same_parameters(ma, mb));
  CHECK(same_parameters(mc, mb));
  CHECK(a.fitness(ma) == b.fitness(mb));
  CHECK(c.test_score(mc) == b.test_score(mb));
}

TEST_CASE("classify task: a non-finite loss stops training", "[classify][task]") {
  TempDir dir;
  const ClassifyOptions cfg = test::synthetic_classify_config(dir, 100, 20, 9);
  const ClassifyTask task(cfg, 1);
  Member m = task.create(mixed_genome(task.space()), 3, torch::kCPU);
  {
    torch::NoGradGuard no_grad;
    m.model->named_parameters()["head.bias"].fill_(std::nan(""));
  }
  const StepStats s = task.train(m, 0, 3, 1);
  CHECK(s.diverged);
  CHECK_FALSE(std::isfinite(s.train_loss));
  CHECK(s.samples == 0);
  const double f = task.fitness(m);  // still a number in [0, 1]
  CHECK(f >= 0.0);
  CHECK(f <= 1.0);
}

TEST_CASE("classify task: learns the synthetic data", "[classify][task]") {
  TempDir dir;
  const ClassifyOptions cfg = test::synthetic_classify_config(dir, 600, 200, 13);
  const ClassifyTask task(cfg, 2);
  Member m = task.create(mixed_genome(task.space()), 4, torch::kCPU);
  const double before = task.fitness(m);
  task.train(m, 0, 6, 8);
  const double after = task.fitness(m);
  INFO("val acc before " << before << " after " << after);
  CHECK(after > 0.8);
  CHECK(task.test_score(m) > 0.8);
}

TEST_CASE("classify task: unusable data or settings are rejected", "[classify][task]") {
  TempDir dir;
  ClassifyOptions cfg = test::synthetic_classify_config(dir, 50, 10, 1);
  SECTION("labels outside 0..9") {
    test::write_file(dir.file("train-labels.gz"),
                     test::idx_bytes(kIdxLabelsMagic, {50}, std::vector<unsigned char>(50, 12)));
    try {
      ClassifyTask task(cfg, 1);
      FAIL("expected std::runtime_error");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find(dir.file("train-labels.gz")) != std::string::npos);
    }
  }
  SECTION("missing data names the file") {
    cfg.data.test_images = "missing.gz";
    try {
      ClassifyTask task(cfg, 1);
      FAIL("expected std::runtime_error");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find(dir.file("missing.gz")) != std::string::npos);
    }
  }
  SECTION("an empty validation split") {
    cfg.data.train_limit = 2;
    cfg.data.val_fraction = 0.1;
    CHECK_THROWS_AS(ClassifyTask(cfg, 1), std::invalid_argument);
  }
}

TEST_CASE("classify task: normalisation constants match Fashion-MNIST", "[classify][real]") {
  if (!test::fashion_mnist_present()) {
    PBTNAS_SKIP("/usr/share/datasets/fashion-mnist is absent (install dataset-fashion-mnist)");
  }
  const ClassifyOptions cfg;
  const IdxImages train = read_idx_images(cfg.data.dir + "/" + cfg.data.train_images,
                                          cfg.data.dir + "/" + cfg.data.train_labels);
  REQUIRE(train.images.sizes() == torch::IntArrayRef({60000, 28, 28}));
  const torch::Tensor x = train.images.to(torch::kFloat64) / 255.0;
  CHECK(x.mean().item<double>() == Approx(kFashionMnistMean).margin(5e-4));
  CHECK(x.std().item<double>() == Approx(kFashionMnistStd).margin(5e-4));
}

TEST_CASE("classify task: short training on Fashion-MNIST beats the untrained net",
          "[classify][real]") {
  if (!test::fashion_mnist_present()) {
    PBTNAS_SKIP("/usr/share/datasets/fashion-mnist is absent (install dataset-fashion-mnist)");
  }
  ClassifyOptions cfg;
  cfg.channels = 8;
  cfg.batch_size = 32;
  cfg.data.train_limit = 2000;
  cfg.data.test_limit = 500;
  const ClassifyTask task(cfg, 31173);
  CHECK(task.train_size() == 1800);
  CHECK(task.val_size() == 200);
  Member m = task.create(mixed_genome(task.space()), 1, torch::kCPU);
  const double before = task.fitness(m);
  const StepStats s = task.train(m, 0, 4, 2);
  CHECK(s.samples == 4 * 1800);
  const double after = task.fitness(m);
  INFO("val acc before " << before << " after " << after << ", loss " << s.train_loss);
  CHECK(after > before + 0.3);
  CHECK(after > 0.65);
}

// Not run by default: `pbtnas_task_tests "[.bench]"`. Prints the figures quoted in docs/tasks.md.
TEST_CASE("classify task: benchmark at the default width", "[.bench]") {
  if (!test::fashion_mnist_present()) return;
  torch::set_num_threads(1);
  ClassifyOptions cfg;  // channels 16, cells_per_stage 2
  const ClassifyTask task(cfg, 31173);
  for (const std::string which : {"mixed", "conv3x3", "light"}) {
    Genome g = mixed_genome(task.space());
    for (std::size_t i = 0; i < g.size(); i += 3) {
      if (which == "conv3x3") g[i] = 1, g[i + 1] = 0, g[i + 2] = 0;
      if (which == "light") g[i] = 4, g[i + 1] = 0, g[i + 2] = 0;
    }
    Member m = task.create(g, 1, torch::kCPU);
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    const StepStats s = task.train(m, 0, 1, 1);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
    const std::clock_t c1 = std::clock();
    const double acc = task.fitness(m);
    const double eval_cpu = double(std::clock() - c1) / CLOCKS_PER_SEC;
    WARN(which << " [" << task.space().describe(g) << "] params "
               << ClassifyTask::parameter_count(m) << ": per 10k training samples "
               << wall * 1e4 / double(s.samples) << " s wall, " << cpu * 1e4 / double(s.samples)
               << " s cpu; val acc after 1 epoch " << acc << " (validation pass " << eval_cpu
               << " s cpu), mean train loss " << s.train_loss);
  }
}
