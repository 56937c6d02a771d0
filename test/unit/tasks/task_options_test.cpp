// The task seam: the registry, and each task's options parsed and validated from its section.
#include <catch2/catch.hpp>

#include <filesystem>

#include "pbtnas/tasks/gan/gan_options.hpp"
#include "pbtnas/tasks/classify/classify_options.hpp"
#include "pbtnas/tasks/registry.hpp"

using namespace pbtnas;
using gan::GanOptions;

TEST_CASE("the registry lists the tasks and refuses unknown names") {
  std::vector<std::string> names;
  for (const auto& e : task_registry()) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"classify", "gan", "rl", "toy"});
  CHECK_THROWS_WITH(parse_run_config("task: regress\n", "f"),
                    Catch::Contains("'task' = 'regress' is not a task") && Catch::Contains("classify, gan, rl"));
}

TEST_CASE("the registry's entries give what the outer layers ask of a task") {
  // The default task is the registry's first entry: a config without `task:` gets its name (the
  // core leaves it empty) and its options.
  CHECK(parse_config("seed: 3\n", "f").task.empty());
  const RunConfig cfg = parse_run_config("seed: 3\n", "f");
  CHECK(cfg.task == task_registry().front().name);
  CHECK(&find_task("") == &task_registry().front());
  REQUIRE(cfg.task_options);
  CHECK(parse_run_config("classify: {channels: 8}\n", "f").options<ClassifyOptions>().channels == 8);
  // Another task's section without `task:` names the fix; a misspelt key is still refused.
  CHECK_THROWS_WITH(parse_run_config("gan: {d_batch: 8}\n", "f"),
                    Catch::Contains("'gan' is not a known key") && Catch::Contains("set task: NAME"));
  CHECK_THROWS_WITH(parse_run_config("populaton_size: 8\n", "f"), Catch::Contains("'populaton_size' is not a known key"));
  CHECK_THROWS_WITH(parse_run_config("classify: {}\ngan: {}\n", "f"), Catch::Contains("is not a known key"));
  // The report's fitness words, and which tasks `pbtnas export` covers.
  CHECK(find_task("classify").fitness_label == "validation accuracy");
  CHECK(find_task("gan").fitness_label == "-FID");
  CHECK(find_task("rl").fitness_label == "episode return");
  for (const auto& e : task_registry()) CHECK_FALSE(e.fitness_label.empty());
  CHECK(find_task("classify").export_member != nullptr);
  CHECK(find_task("gan").export_member != nullptr);
  CHECK(find_task("rl").export_member == nullptr);
}

TEST_CASE("classify section: defaults and keys parsed and bad values named") {
  const RunConfig d = parse_run_config("population_size: 8\n", "t");
  const auto& o = d.options<ClassifyOptions>();
  CHECK(o.channels == 16);
  CHECK(o.data.val_fraction == 0.1);
  const RunConfig c = parse_run_config("classify:\n  channels: 8\n  data: {train_limit: 1000, val_fraction: 0.2}\n", "t");
  CHECK(c.options<ClassifyOptions>().channels == 8);
  CHECK(c.options<ClassifyOptions>().data.train_limit == 1000);
  CHECK(c.options<ClassifyOptions>().data.val_fraction == 0.2);
  CHECK_THROWS_AS(c.options<GanOptions>(), std::logic_error);
  CHECK_THROWS_WITH(parse_run_config("classify: {chanels: 3}\n", "f"), Catch::Contains("'classify.chanels'"));
  CHECK_THROWS_WITH(parse_run_config("classify: {lr: abc}\n", "f"),
                    Catch::Contains("'classify.lr'") && Catch::Contains("wrong type"));
  CHECK_THROWS_WITH(parse_run_config("classify: {data: {val_fraction: 0.7}}\n", "f.yaml"),
                    Catch::Contains("config f.yaml") && Catch::Contains("'classify.data.val_fraction' = 0.7") &&
                        Catch::Contains("(0, 0.5]"));
  CHECK_THROWS_WITH(parse_run_config("classify: {channels: 100000000}\n", "f"), Catch::Contains("'classify.channels'"));
  // The same ranges apply to options set in code (one place: validate()).
  ClassifyOptions bad;
  bad.data.val_fraction = 0.9;
  CHECK_THROWS_WITH(bad.validate(), Catch::Contains("'classify.data.val_fraction' = 0.9"));
}

TEST_CASE("gan section: paper defaults and keys parsed and bad values named") {
  const RunConfig d = parse_run_config("task: gan\n", "t");
  CHECK(d.task == "gan");
  const auto& g = d.options<GanOptions>();
  CHECK(g.dataset == "fashion_mnist");
  CHECK(g.data_dir == gan::kFashionMnistDir);
  CHECK(g.model.image_channels == 1);
  CHECK(g.space == "gan_hard");
  CHECK(g.model.gf_dim == 256);
  CHECK(g.model.df_dim == 128);
  CHECK(g.model.latent_dim == 120);
  CHECK(g.d_batch == 40);
  CHECK(g.g_batch_multiplier == 2);
  CHECK(g.n_critic == 5);
  CHECK(g.lr == 2e-4);
  CHECK(g.beta1 == 0.0);
  CHECK(g.beta2 == 0.9);
  CHECK(g.eps == 1e-4);
  CHECK(g.ema_decay == 0.999);
  CHECK(g.fid_samples == 5000);
  CHECK(g.final_fid_samples == 50000);
  CHECK(g.is_splits == 10);
  CHECK(g.model.faithful_d_block);

  const RunConfig c = parse_run_config(R"(
task: gan
gan:
  dataset: cifar10
  data_dir: /data/cifar-10-batches-bin
  space: gan_easy
  gf_dim: 8
  df_dim: 4
  latent_dim: 12
  faithful_d_block: false
  iterations_per_epoch: 7
  final_fid_samples: 0
  grid_samples: 0
  features: {torchscript: inception.pt, cache_dir: /cache, classifier_epochs: 3}
)", "t");
  const auto& h = c.options<GanOptions>();
  CHECK(h.dataset == "cifar10");
  CHECK(h.data_dir == "/data/cifar-10-batches-bin");
  CHECK(h.model.image_channels == 3);
  CHECK(h.space == "gan_easy");
  CHECK(h.model.gf_dim == 8);
  CHECK(h.model.df_dim == 4);
  CHECK(h.model.latent_dim == 12);
  CHECK_FALSE(h.model.faithful_d_block);
  CHECK(h.iterations_per_epoch == 7);
  CHECK(h.final_fid_samples == 0);
  CHECK(h.grid_samples == 0);
  CHECK(h.features.torchscript == "inception.pt");
  CHECK(h.features.cache_dir == "/cache");
  CHECK(h.features.classifier_epochs == 3);

  CHECK_THROWS_WITH(parse_run_config("task: gan\ngan: {dataset: svhn}\n", "f"),
                    Catch::Contains("'gan.dataset'") && Catch::Contains("fashion_mnist, cifar10"));
  CHECK_THROWS_WITH(parse_run_config("task: gan\ngan: {dataset: cifar10}\n", "f"),
                    Catch::Contains("gan.data_dir") && Catch::Contains("cifar-10-batches-bin"));
  CHECK_THROWS_WITH(parse_run_config("task: gan\ngan: {latent_dim: 10}\n", "f"),
                    Catch::Contains("'gan.latent_dim'") && Catch::Contains("multiple of 3"));
  CHECK_THROWS_WITH(parse_run_config("task: gan\ngan: {space: gan_medium}\n", "f"), Catch::Contains("gan_easy, gan_hard"));
  CHECK_THROWS_WITH(parse_run_config("task: gan\ngan: {final_fid_samples: 1}\n", "f"), Catch::Contains("final_fid_samples"));
  CHECK_THROWS_WITH(parse_run_config("task: gan\ngan: {fid_samples: 2000000000}\n", "f"), Catch::Contains("'gan.fid_samples'"));
  CHECK_THROWS_WITH(parse_run_config("task: gan\ngan: {gf_dim: 1000000}\n", "f"), Catch::Contains("'gan.gf_dim'"));
  CHECK_THROWS_WITH(parse_run_config("task: gan\ngan: {features: {inception: x}}\n", "f"),
                    Catch::Contains("'gan.features.inception' is not a known key"));
  CHECK_THROWS_WITH(parse_run_config("task: gan\nclassify: {channels: 8}\n", "f"),
                    Catch::Contains("'classify' is not a known key"));
}

TEST_CASE("every shipped config in jobs/configs parses") {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(PBTNAS_SOURCE_DIR) + "/jobs/configs")) {
    if (e.path().extension() != ".yaml") continue;
    INFO(e.path().filename().string());
    const RunConfig c = load_run_config(e.path().string());
    CHECK(c.n_steps() >= 1);
    CHECK(c.task_options != nullptr);
    ++n;
  }
  CHECK(n >= 12);
  const RunConfig paper = load_run_config(std::string(PBTNAS_SOURCE_DIR) + "/jobs/configs/cifar10_ganhard.yaml");
  CHECK(paper.selection.population_size == 24);
  CHECK(paper.n_steps() == 30);
  const auto& g = paper.options<GanOptions>();
  CHECK(g.model.gf_dim == 256);
  CHECK(g.model.df_dim == 128);
  CHECK(g.fid_samples == 5000);
  CHECK(g.final_fid_samples == 50000);
}
