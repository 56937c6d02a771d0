// The GAN task on tiny synthetic data: deterministic create, export layout, training of
// G, D and the EMA generator, FID fitness, and a GanHard Mix child (docs/algorithm.md, "GAN
// training recipe", "Building a child's weights").
#include "pbtnas/tasks/gan/gan_task.hpp"
#include "support/random_projection_features.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include "unit/gan/gan_test_util.hpp"
#include <cmath>
#include <filesystem>
#include <memory>

#include "pbtnas/tasks/gan/gan_spaces.hpp"
#include "pbtnas/nn/child.hpp"
#include "pbtnas/run/build_child.hpp"
#include "pbtnas/nn/member.hpp"
#include "pbtnas/core/seed.hpp"
#include "support/seed.hpp"
#include "support/temp_dir.hpp"
#include "pbtnas/util/file_lock.hpp"
#include <thread>

using namespace pbtnas;
using namespace pbtnas::gan;

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

GanOptions tiny_task_config() {
  GanOptions cfg;
  cfg.model.gf_dim = 8;
  cfg.model.df_dim = 8;
  cfg.model.latent_dim = 12;
  cfg.model.bottom_width = 4;
  cfg.model.image_channels = 1;
  cfg.space = "gan_hard";
  cfg.train_limit = 256;
  cfg.d_batch = 8;
  cfg.iterations_per_epoch = 10;
  cfg.fid_samples = 64;
  cfg.reference_samples = 100;
  cfg.eval_batch_size = 32;
  return cfg;
}

// Synthetic gray images laid out like the task's Fashion-MNIST images: 28x28 content in
// [-1, 1] (smooth random blobs, fixed seed) padded with -1 to 32x32. The task tests need no data
// set.
GanData synthetic_gan_data(int n) {
  namespace F = torch::nn::functional;
  torch::manual_seed(4321);
  const torch::Tensor coarse = torch::randn({n, 1, 4, 4});
  const torch::Tensor content = torch::tanh(
      2.0 * F::interpolate(coarse, F::InterpolateFuncOptions()
                                       .size(std::vector<int64_t>{28, 28})
                                       .mode(torch::kBilinear)
                                       .align_corners(false)));
  const torch::Tensor images = F::pad(content, F::PadFuncOptions({2, 2, 2, 2}).value(-1.0));
  return GanData{images.contiguous(), torch::randint(0, 10, {n}, torch::kInt64), 10};
}

// One task for all tests.
const GanTask* tiny_task() {
  static std::unique_ptr<GanTask> task;
  if (!task)
    task = std::make_unique<GanTask>(tiny_task_config(), 1234, std::make_shared<RandomProjectionFeatures>(16, 99),
                                     synthetic_gan_data(256));
  return task.get();
}

bool same_state(const NamedState& a, const NamedState& b, const std::string& prefix = "") {
  std::size_t compared = 0;
  for (const auto& nt : a) {
    if (!starts_with(nt.name, prefix)) continue;
    const torch::Tensor* t = find_tensor(b, nt.name);
    if (!t || !t->equal(nt.tensor)) return false;
    ++compared;
  }
  return compared > 0;
}

// Sum over the tensors under `prefix` (floating, in both states) of ||after - before||.
double change(const NamedState& before, const NamedState& after, const std::string& prefix) {
  double sum = 0.0;
  for (const auto& nt : after) {
    if (!starts_with(nt.name, prefix) || !nt.tensor.is_floating_point()) continue;
    const torch::Tensor* t = find_tensor(before, nt.name);
    REQUIRE(t != nullptr);
    sum += (nt.tensor.to(torch::kFloat64) - t->to(torch::kFloat64)).norm().item<double>();
  }
  return sum;
}

std::size_t count_prefix(const NamedState& s, const std::string& prefix) {
  std::size_t n = 0;
  for (const auto& nt : s) n += starts_with(nt.name, prefix) ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("gan task: data, reference statistics and settings validation", "[gan_task]") {
  const GanTask* task = tiny_task();
  REQUIRE(task);
  CHECK(task->train_size() == 256);
  const torch::Tensor& x = task->train_images();
  REQUIRE(x.sizes() == torch::IntArrayRef({256, 1, 32, 32}));
  CHECK(x.min().item<double>() == -1.0);
  CHECK(x.max().item<double>() <= 1.0);
  CHECK(x.slice(2, 0, 2).eq(-1.0).all().item<bool>());  // padding rows
  CHECK(x.slice(3, 30, 32).eq(-1.0).all().item<bool>());  // padding columns
  CHECK(task->reference_stats().count == 100);  // the first reference_samples images
  CHECK(task->reference_stats().mean.size(0) == 16);
  CHECK(task->iterations_per_epoch() == 10);

  GanOptions bad = tiny_task_config();
  bad.model.image_channels = 3;
  CHECK_THROWS_WITH(GanTask(bad, 1, std::make_shared<RandomProjectionFeatures>(4, 1), synthetic_gan_data(8)),
                    Catch::Contains("image_channels is 3"));
  bad = tiny_task_config();
  bad.model.bottom_width = 2;
  CHECK_THROWS_WITH(GanTask(bad, 1, std::make_shared<RandomProjectionFeatures>(4, 1), synthetic_gan_data(8)),
                    Catch::Contains("bottom_width must be 4"));
}

TEST_CASE("gan task: create is deterministic and the EMA generator copies the generator",
          "[gan_task]") {
  const GanTask* task = tiny_task();
  REQUIRE(task);
  const Genome g = test::random_genome(task->space(), test::test_seed());
  const NamedState a = export_member_state(task->create(g, 7, torch::kCPU));
  const NamedState b = export_member_state(task->create(g, 7, torch::kCPU));
  const NamedState c = export_member_state(task->create(g, 8, torch::kCPU));
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].name);
    CHECK(a[i].name == b[i].name);
    // (the stored fitness is NaN until the member trains: NaN equals nothing)
    CHECK((a[i].tensor.equal(b[i].tensor) || (a[i].name == "extra.eval.neg_fid" && a[i].tensor.isnan().item<bool>() &&
                                              b[i].tensor.isnan().item<bool>())));
  }
  CHECK_FALSE(same_state(a, c, "model."));
  // average.generator.X == model.generator.X at creation, for every tensor.
  std::size_t n_avg = 0;
  for (const auto& nt : a) {
    if (!starts_with(nt.name, "average.")) continue;
    ++n_avg;
    INFO(nt.name);
    REQUIRE(starts_with(nt.name, "average.generator."));
    const torch::Tensor* m = find_tensor(a, "model." + nt.name.substr(8));
    REQUIRE(m != nullptr);
    CHECK(m->equal(nt.tensor));
  }
  CHECK(n_avg == count_prefix(a, "model.generator."));
}

TEST_CASE("gan task: training moves G, D and (less) the EMA, export layout, fitness",
          "[gan_task]") {
  const GanTask* task = tiny_task();
  REQUIRE(task);
  const Genome g = test::random_genome(task->space(), test::test_seed() + 1);
  Member m = task->create(g, 11, torch::kCPU);
  const NamedState before = export_member_state(m);
  const torch::Tensor global_rng = at::globalContext().defaultGenerator(torch::kCPU).get_state();
  const StepStats s = task->train(m, 0, 1, 21);
  // Dropout's re-seeded default generator is restored afterwards.
  CHECK(at::globalContext().defaultGenerator(torch::kCPU).get_state().equal(global_rng));
  CHECK_FALSE(s.diverged);
  CHECK(std::isfinite(s.train_loss));
  CHECK(s.samples == 80);
  const NamedState after = export_member_state(m);

  CHECK(count_prefix(after, "model.generator.") > 0);
  CHECK(count_prefix(after, "model.discriminator.") > 0);
  CHECK(count_prefix(after, "average.generator.") > 0);
  CHECK(count_prefix(after, "average.discriminator.") == 0);
  CHECK(find_tensor(after, "optim.0.count") != nullptr);
  CHECK(find_tensor(after, "optim.1.count") != nullptr);
  // Parameters without a gradient (disabled projections, B1's unused branch) have no state.
  std::size_t g_state = 0, d_state = 0;
  for (const auto& nt : after) {
    const bool sq = nt.name.size() > 11 && nt.name.compare(nt.name.size() - 11, 11, ".exp_avg_sq") == 0;
    g_state += starts_with(nt.name, "optim.0.") && sq ? 1 : 0;
    d_state += starts_with(nt.name, "optim.1.") && sq ? 1 : 0;
  }
  CHECK(g_state > 0);
  CHECK(d_state > 0);
  CHECK(find_tensor(after, "optim.0.count")->item<std::int64_t>() ==
        static_cast<std::int64_t>(m.optimizers[0]->param_groups()[0].params().size()));

  const double dg = change(before, after, "model.generator.");
  const double dd = change(before, after, "model.discriminator.");
  const double de = change(before, after, "average.generator.");
  CHECK(dg > 0.0);
  CHECK(dd > 0.0);
  CHECK(de > 0.0);
  CHECK(de < dg);

  // The same seeds give the same result.
  Member m2 = task->create(g, 11, torch::kCPU);
  task->train(m2, 0, 1, 21);
  CHECK(same_state(after, export_member_state(m2)));

  const double fit = task->fitness(m);
  CHECK(std::isfinite(fit));
  CHECK(fit <= 1e-9);
  CHECK(task->fitness(m) == fit);  // the stored value: repeatable, and fitness leaves m unchanged
  CHECK(same_state(after, export_member_state(m)));
  // Measured once at the end of the step, on the latents of the step's seed.
  CHECK(fit == -task->fid(m, task->fitness_latents(21)));
  CHECK(find_tensor(after, "extra.eval.neg_fid")->item<double>() == fit);
}

TEST_CASE("gan task: fitness latents are fresh per step seed by default, one set when fixed",
          "[gan_task]") {
  const GanTask* task = tiny_task();
  REQUIRE(task);
  REQUIRE(task->config().fid_latents == "fresh");
  const torch::Tensor a = task->fitness_latents(21);
  CHECK(a.sizes() == torch::IntArrayRef({64, 12}));
  CHECK(a.equal(task->fitness_latents(21)));         // reproducible from the seed
  CHECK_FALSE(a.equal(task->fitness_latents(22)));   // another member or generation: other z

  GanOptions cfg = tiny_task_config();
  cfg.fid_latents = "fixed";
  GanTask fixed(cfg, 1234, std::make_shared<RandomProjectionFeatures>(16, 99), synthetic_gan_data(256));
  CHECK(fixed.fitness_latents(21).equal(fixed.fitness_latents(22)));

  // A member that has not trained has no fitness yet; fresh and fixed latents score it
  // differently.
  Member m = fixed.create(test::random_genome(fixed.space(), test::test_seed() + 7), 3, torch::kCPU);
  CHECK(std::isnan(fixed.fitness(m)));
  fixed.train(m, 0, 1, 5);
  CHECK(fixed.fitness(m) == -fixed.fid(m));
  CHECK(fixed.fitness(m) != -fixed.fid(m, task->fitness_latents(5)));

  cfg.fid_latents = "latest";
  CHECK_THROWS_WITH(cfg.validate(), Catch::Contains("gan.fid_latents") && Catch::Contains("fresh"));
}

TEST_CASE("gan task: a GanHard Mix child imports, keeps the donor's EMA exactly and trains",
          "[gan_task]") {
  const GanTask* task = tiny_task();
  REQUIRE(task);
  const SearchSpace& space = task->space();
  const Genome g1 = test::random_genome(space, test::test_seed() + 2);
  const Genome g2 = test::random_genome(space, test::test_seed() + 3);
  Member p1 = task->create(g1, 31, torch::kCPU);
  Member p2 = task->create(g2, 32, torch::kCPU);
  task->train(p1, 0, 1, 41);
  task->train(p2, 0, 1, 42);
  const NamedState s1 = export_member_state(p1);
  const NamedState s2 = export_member_state(p2);

  ChildPlan plan;
  plan.slot = 0;
  plan.parent1 = 0;
  plan.parent2 = 1;
  plan.kind = ChildKind::Mix;
  for (const char* name : {"proj0.linear", "cell1.up0", "cell1.c0", "cell1.c1", "cell2.c3",
                           "cell3.up1", "dblock2.c0", "dblock2.c4", "dblock3.down0"})
    plan.swapped_genes.push_back(space.index_of(name));
  std::sort(plan.swapped_genes.begin(), plan.swapped_genes.end());
  plan.genome = g1;
  for (int g : plan.swapped_genes)
    plan.genome[static_cast<std::size_t>(g)] = g2[static_cast<std::size_t>(g)];
  plan.fresh_seed = 51;
  const NamedState donor = donor_tensors(space, plan.swapped_genes, s2);
  Member child = build_child(*task, plan, s1, donor, ShrinkPerturb{}, torch::kCPU);  // the production path
  const NamedState imported = export_member_state(child);
  std::size_t swapped_avg = 0;
  for (const auto& nt : imported) {
    if (!starts_with(nt.name, "average.")) continue;
    const std::string x = nt.name.substr(8);
    INFO(nt.name);
    if (space.owned_by_any(plan.swapped_genes, x)) {
      ++swapped_avg;
      const torch::Tensor* d = find_tensor(s2, nt.name);
      REQUIRE(d != nullptr);
      CHECK(nt.tensor.equal(*d));
    } else {
      const torch::Tensor* p = find_tensor(s1, nt.name);
      REQUIRE(p != nullptr);
      CHECK(nt.tensor.equal(*p));
    }
  }
  CHECK(swapped_avg > 0);

  const StepStats s = task->train(child, 1, 1, 61);
  CHECK_FALSE(s.diverged);
  CHECK(std::isfinite(s.train_loss));
  CHECK(std::isfinite(task->fitness(child)));
}

namespace {

// The test stand-in with a cache key: its reference statistics are cached like the built-in
// classifier's (gan_task.cpp).
class KeyedProjectionFeatures : public RandomProjectionFeatures {
 public:
  using RandomProjectionFeatures::RandomProjectionFeatures;
  std::string cache_key() const override { return "test-projection-16-99"; }
};

}  // namespace

// Run by ctest under a shim whose flock fails with ENOSYS ("gan: caches without flock",
// test/CMakeLists.txt): the reference statistics are computed without the lock by every task that
// finds no file, one whole file is left, and a later task loads the same values.
TEST_CASE("gan task: reference statistics are cached on a file system without flock", "[.no_flock]") {
  pbtnas::test::TempDir dir;
  {
    FileLock probe(dir / "probe.lock");
    REQUIRE(probe.unsupported());  // the shim is in place
  }
  GanOptions cfg = tiny_task_config();
  cfg.features.cache_dir = dir / "cache";
  const auto features = std::make_shared<KeyedProjectionFeatures>(16, 99);
  const GanData data = synthetic_gan_data(256);
  std::vector<std::unique_ptr<GanTask>> tasks(2);
  std::vector<std::exception_ptr> errors(tasks.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < tasks.size(); ++i)
    threads.emplace_back([&, i] {
      try {
        tasks[i] = std::make_unique<GanTask>(cfg, 1234, features, data);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "cache")) {
    const std::string name = e.path().filename().string();
    CHECK(name.find(".tmp.") == std::string::npos);
    files += name.rfind("pbtnas-reference-stats-", 0) == 0 && e.path().extension() == ".pt";
  }
  CHECK(files == 1);
  const GanTask later(cfg, 1234, features, data);  // loads the file
  for (const auto& t : tasks) {
    REQUIRE(t);
    CHECK(t->reference_stats().count == 100);
    CHECK(torch::equal(t->reference_stats().mean, later.reference_stats().mean));
    CHECK(torch::equal(t->reference_stats().cov, later.reference_stats().cov));
  }
}
