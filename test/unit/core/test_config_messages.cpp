#include <catch2/catch.hpp>

#include "pbtnas/config.hpp"
#include "pbtnas/messages.hpp"

using namespace pbtnas;

TEST_CASE("config defaults follow the paper where they apply") {
  const RunConfig c = parse_config("population_size: 24\n", "t");
  CHECK(c.selection.n_children == 6);
  CHECK(c.selection.parents_fraction == 0.25);
  CHECK(c.selection.survive_fraction == 0.75);
  CHECK(c.swap_probability == 0.25);
  CHECK(c.shrink == 0.4);
  CHECK(c.perturb == 0.1);
  CHECK(c.algorithm == Algorithm::PbtNas);
  CHECK(c.max_epochs == 300);
  CHECK(c.epochs_step == 10);
}

TEST_CASE("config keys are parsed") {
  const RunConfig c = parse_config(R"(
seed: 5
algorithm: mutation
population_size: 8
shrink_perturb: [1, 0]
mix_with_itself: true
max_epochs: 6
epochs_step: 2
mix_schedule: {every: 4, until: 4}
classify:
  channels: 8
  data: {train_limit: 1000, val_fraction: 0.2}
checkpoint: {keep: 0}
runtime: {threads_per_rank: 1, device: cpu}
)", "t");
  CHECK(c.seed == 5);
  CHECK(c.algorithm == Algorithm::Mutation);
  CHECK(c.selection.n_children == 2);
  CHECK(c.shrink == 1.0);
  CHECK(c.perturb == 0.0);
  CHECK(c.mix_with_itself);
  CHECK(c.n_steps() == 3);
  CHECK(c.classify.channels == 8);
  CHECK(c.classify.data.train_limit == 1000);
  CHECK(c.classify.data.val_fraction == 0.2);
  CHECK(c.checkpoint.keep == 0);
  CHECK(c.threads_per_rank == 1);
  CHECK(c.device == "cpu");
}

TEST_CASE("the mixing schedule thins out early mixing and never mixes after the last step") {
  RunConfig c = parse_config("max_epochs: 300\nepochs_step: 10\nmix_schedule: {every: 20, until: 150}\n", "t");
  CHECK_FALSE(c.mix_after(10));
  CHECK(c.mix_after(20));
  CHECK_FALSE(c.mix_after(30));
  CHECK(c.mix_after(150));
  CHECK(c.mix_after(160));
  CHECK(c.mix_after(290));
  CHECK_FALSE(c.mix_after(300));
  int events = 0;
  for (int e = 10; e <= 300; e += 10) events += c.mix_after(e);
  CHECK(events == 22);  // as in the Walker/Quadruped configs
  RunConfig always = parse_config("max_epochs: 300\nepochs_step: 10\n", "t");
  events = 0;
  for (int e = 10; e <= 300; e += 10) events += always.mix_after(e);
  CHECK(events == 29);  // GAN configs
}

TEST_CASE("bad configs are rejected with the key named and the valid range") {
  CHECK_THROWS_WITH(parse_config("populaton_size: 8\n", "f.yaml"),
                    Catch::Contains("f.yaml") && Catch::Contains("'populaton_size' is not a known key"));
  CHECK_THROWS_WITH(parse_config("classify: {chanels: 3}\n", "f"), Catch::Contains("'classify.chanels'"));
  CHECK_THROWS_WITH(parse_config("algorithm: evolution\n", "f"), Catch::Contains("pbtnas, mutation, random"));
  CHECK_THROWS_WITH(parse_config("population_size: 3\n", "f"), Catch::Contains(">= 4"));
  CHECK_THROWS_WITH(parse_config("population_size: 8\nn_children: 3\n", "f"), Catch::Contains("set n_children to 2"));
  CHECK_THROWS_WITH(parse_config("swap_probability: 1.5\n", "f"), Catch::Contains("[0, 1]"));
  CHECK_THROWS_WITH(parse_config("shrink_perturb: [0.4]\n", "f"), Catch::Contains("two numbers"));
  CHECK_THROWS_WITH(parse_config("max_epochs: 25\nepochs_step: 10\n", "f"), Catch::Contains("multiple of epochs_step"));
  CHECK_THROWS_WITH(parse_config("classify: {lr: abc}\n", "f"), Catch::Contains("'classify.lr'") && Catch::Contains("wrong type"));
  CHECK_THROWS_WITH(parse_config("seed: [1\n", "f"), Catch::Contains("not valid YAML"));
  CHECK_THROWS_WITH(load_config("/nonexistent/x.yaml"), Catch::Contains("cannot be read"));
}

TEST_CASE("messages round-trip through Boost.Serialization") {
  ExploitPlan p;
  p.generation = 7;
  ChildPlan c;
  c.slot = 3;
  c.parent1 = 1;
  c.parent2 = 5;
  c.kind = ChildKind::ArchMutation;
  c.genome = {1, 2, 3};
  c.swapped_genes = {2};
  c.fresh_seed = 0xDEADBEEFCAFEULL;
  p.children = {c, c};
  const auto q = decode<ExploitPlan>(encode(p));
  REQUIRE(q.children.size() == 2);
  CHECK(q.generation == 7);
  CHECK(q.children[1].slot == 3);
  CHECK(q.children[1].kind == ChildKind::ArchMutation);
  CHECK(q.children[1].genome == c.genome);
  CHECK(q.children[1].swapped_genes == c.swapped_genes);
  CHECK(q.children[1].fresh_seed == c.fresh_seed);

  FitnessReport r{4, 2, -1.5, 0.25, 1000, 3.5, true, "boom"};
  const auto r2 = decode<FitnessReport>(encode(r));
  CHECK(r2.member == 4);
  CHECK(r2.fitness == -1.5);
  CHECK(r2.diverged);
  CHECK(r2.error == "boom");

  TensorManifest m{{"model.a", "optim.0.count"}, {6, 4}, {{3, 4}, {}}};
  const auto m2 = decode<TensorManifest>(encode(m));
  CHECK(m2.names == m.names);
  CHECK(m2.dtypes == m.dtypes);
  CHECK(m2.shapes == m.shapes);

  CheckpointDone d;
  d.files = {{2, "member_002.h5", 1234, 0xABCDu}};
  const auto d2 = decode<CheckpointDone>(encode(d));
  CHECK(d2.files.at(0).file == "member_002.h5");
  CHECK(d2.files.at(0).crc32 == 0xABCDu);
  CHECK(decode<TrainOrder>(encode(TrainOrder{3, 6, 2, true})).stop);
}

TEST_CASE("gan config section: paper defaults, keys parsed, bad values named") {
  const RunConfig d = parse_config("task: gan\n", "t");
  CHECK(d.task == "gan");
  CHECK(d.gan.dataset == "fashion_mnist");
  CHECK(d.gan.space == "gan_hard");
  CHECK(d.gan.gf_dim == 256);
  CHECK(d.gan.df_dim == 128);
  CHECK(d.gan.latent_dim == 120);
  CHECK(d.gan.d_batch == 40);
  CHECK(d.gan.g_batch_multiplier == 2);
  CHECK(d.gan.n_critic == 5);
  CHECK(d.gan.lr == 2e-4);
  CHECK(d.gan.beta1 == 0.0);
  CHECK(d.gan.beta2 == 0.9);
  CHECK(d.gan.eps == 1e-4);
  CHECK(d.gan.ema_decay == 0.999);
  CHECK(d.gan.fid_samples == 5000);
  CHECK(d.gan.final_fid_samples == 50000);
  CHECK(d.gan.is_splits == 10);
  CHECK(d.gan.faithful_d_block);

  const RunConfig c = parse_config(R"(
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
  CHECK(c.gan.dataset == "cifar10");
  CHECK(c.gan.data_dir == "/data/cifar-10-batches-bin");
  CHECK(c.gan.space == "gan_easy");
  CHECK(c.gan.gf_dim == 8);
  CHECK(c.gan.df_dim == 4);
  CHECK(c.gan.latent_dim == 12);
  CHECK_FALSE(c.gan.faithful_d_block);
  CHECK(c.gan.iterations_per_epoch == 7);
  CHECK(c.gan.final_fid_samples == 0);
  CHECK(c.gan.grid_samples == 0);
  CHECK(c.gan.features.torchscript == "inception.pt");
  CHECK(c.gan.features.cache_dir == "/cache");
  CHECK(c.gan.features.classifier_epochs == 3);

  CHECK_THROWS_WITH(parse_config("task: gan\ngan: {dataset: stl10}\n", "f"),
                    Catch::Contains("'gan.dataset'") && Catch::Contains("fashion_mnist, cifar10"));
  CHECK_THROWS_WITH(parse_config("task: gan\ngan: {latent_dim: 10}\n", "f"),
                    Catch::Contains("'gan.latent_dim'") && Catch::Contains("multiple of 3"));
  CHECK_THROWS_WITH(parse_config("task: gan\ngan: {space: gan_medium}\n", "f"), Catch::Contains("gan_easy, gan_hard"));
  CHECK_THROWS_WITH(parse_config("task: gan\ngan: {final_fid_samples: 1}\n", "f"), Catch::Contains("final_fid_samples"));
  CHECK_THROWS_WITH(parse_config("task: gan\ngan: {features: {inception: x}}\n", "f"),
                    Catch::Contains("'gan.features.inception' is not a known key"));
  CHECK_THROWS_WITH(parse_config("gan: {gf_dim: 8}\n", "f"), Catch::Contains("'gan' is set but task is 'classify'"));
  CHECK_THROWS_WITH(parse_config("task: gan\nclassify: {channels: 8}\n", "f"), Catch::Contains("'classify' is set but task is 'gan'"));
  CHECK_THROWS_WITH(parse_config("task: regress\n", "f"), Catch::Contains("classify, gan"));
}

TEST_CASE("every shipped config in jobs/configs parses") {
  for (const char* name : {"fmnist_classify", "smoke_classify", "fmnist_ganhard", "cifar10_ganhard", "smoke_gan"}) {
    INFO(name);
    const RunConfig c = load_config(std::string(PBTNAS_SOURCE_DIR) + "/jobs/configs/" + name + ".yaml");
    CHECK(c.n_steps() >= 1);
  }
  const RunConfig paper = load_config(std::string(PBTNAS_SOURCE_DIR) + "/jobs/configs/cifar10_ganhard.yaml");
  CHECK(paper.selection.population_size == 24);
  CHECK(paper.n_steps() == 30);
  CHECK(paper.gan.gf_dim == 256);
  CHECK(paper.gan.df_dim == 128);
  CHECK(paper.gan.fid_samples == 5000);
  CHECK(paper.gan.final_fid_samples == 50000);
}

TEST_CASE("final reports with metrics round-trip") {
  FinalReport r;
  r.best_ever = true;
  r.generation = 4;
  r.metric_names = {"fid", "inception_score"};
  r.metric_values = {12.5, 3.25};
  r.preview = "out/samples/final_best.png";
  const auto q = decode<FinalReport>(encode(r));
  CHECK(q.best_ever);
  CHECK(q.generation == 4);
  CHECK(q.metric_names == r.metric_names);
  CHECK(q.metric_values == r.metric_values);
  CHECK(q.preview == r.preview);
  TrainOrder o;
  o.stop = true;
  o.best_ever_file = "out/best_ever.h5";
  CHECK(decode<TrainOrder>(encode(o)).best_ever_file == "out/best_ever.h5");
}
