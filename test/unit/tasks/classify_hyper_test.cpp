// ClassifyTask with hyperparameter genes (core/hyper_genes.hpp): the network is the architecture
// genes', and AdamW's learning rate and weight decay follow the member's genes each step while
// its moments continue.
#include <catch2/catch.hpp>

#include "pbtnas/core/hyper_genes.hpp"
#include "pbtnas/tasks/classify/classify.hpp"
#include "support/seed.hpp"
#include "task_test_util.hpp"

using namespace pbtnas;
using namespace pbtnas::classify;
using pbtnas::test::TempDir;

TEST_CASE("classify task: hyperparameter genes set AdamW's lr and weight decay, the moments continue", "[classify][task]") {
  TempDir dir;
  ClassifyOptions cfg = test::synthetic_classify_config(dir, 100, 20, 3);
  cfg.samples_per_epoch = 32;
  cfg.batch_size = 16;
  HyperParameter lr, wd;
  lr.name = "lr";
  lr.min = 1e-4;
  lr.max = 1e-2;
  wd.name = "weight_decay";
  wd.min = 0.0;
  wd.max = 0.01;
  wd.scale = "linear";
  const ClassifyTask plain(cfg, 1), task(cfg, 1, {lr, wd});
  const SearchSpace& s = task.space();
  REQUIRE(s.size() == plain.space().size() + 2);
  REQUIRE(s.gene(s.size() - 2).name == "hyper.lr");
  Genome g(s.size(), 0);
  g[s.size() - 2] = 4;
  g[s.size() - 1] = 3;
  Member m = task.create(g, 5, torch::kCPU);
  Member p = plain.create(architecture_genome(s, g), 5, torch::kCPU);
  CHECK(m.model->parameters().size() == p.model->parameters().size());  // the same network
  auto options = [&]() -> torch::optim::AdamWOptions& {
    return static_cast<torch::optim::AdamWOptions&>(m.optimizers[0]->param_groups()[0].options());
  };
  CHECK(options().lr() == Approx(s.values(s.size() - 2)[4]));
  CHECK(options().weight_decay() == Approx(0.003));
  task.train(m, 0, 1, 9);
  m.genome[s.size() - 2] = 12;  // another value, as a child of this member would have
  m.genome[s.size() - 1] = 0;
  task.train(m, 1, 1, 10);
  CHECK(options().lr() == Approx(s.values(s.size() - 2)[12]));
  CHECK(options().weight_decay() == 0.0);
  const auto& state = m.optimizers[0]->state();
  REQUIRE_FALSE(state.empty());
  CHECK(static_cast<const torch::optim::AdamWParamState&>(*state.begin()->second).step() == 4);  // 2 x 32 / 16
  // Without genes the task's own keys apply, as before.
  Member q = plain.create(architecture_genome(s, g), 5, torch::kCPU);
  CHECK(static_cast<torch::optim::AdamWOptions&>(q.optimizers[0]->param_groups()[0].options()).lr() == cfg.lr);
}
