// Whole toy searches with hyperparameter genes (core/hyper_genes.hpp; the toy task's "lr"): the
// results must not depend on the number of workers, a stopped and resumed run must equal the
// uninterrupted one, and the task must apply each generation's value without resetting Adam.
#include <catch2/catch.hpp>

#include <set>

#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/index/run_dir.hpp"
#include "pbtnas/io/member_file.hpp"
#include "pbtnas/io/member_shard.hpp"
#include "pbtnas/protocol/coordinator.hpp"
#include "pbtnas/run/worker.hpp"
#include "support/seed.hpp"
#include "support/temp_dir.hpp"
#include "support/threaded_search.hpp"
#include "support/toy_task.hpp"

using namespace pbtnas;

namespace {

std::vector<HyperParameter> toy_hyper() {
  HyperParameter lr;
  lr.name = "lr";
  lr.min = 1e-3;
  lr.max = 1e-1;
  return {lr};
}

RunConfig hyper_config(Algorithm algo) {
  RunConfig cfg;
  cfg.seed = test::test_seed();
  cfg.algorithm = algo;
  cfg.selection.population_size = 8;
  cfg.selection.parents_fraction = 0.25;
  cfg.selection.n_children = 2;
  cfg.max_epochs = 4;
  cfg.epochs_step = 1;
  cfg.task = "toy";
  cfg.checkpoint.keep = 0;
  cfg.source_text = "toy search with hyperparameter genes";
  cfg.hyperparameters = toy_hyper();
  cfg.swap_probability = 0.5;
  return cfg;
}

int run_search(const RunConfig& cfg, const test::ToyTask& task, int ranks, const std::string& out) {
  return test::run_ranks_as_threads(cfg, task.space(), out, ranks, [&](Transport& t, Logger& log) {
    return Worker(t, cfg, &task, "", torch::kCPU, 1, log).run();
  });
}

void check_same_members(const std::string& a, const std::string& b, const RunConfig& cfg) {
  const std::int64_t last = cfg.n_steps() - 1;
  for (int m = 0; m < cfg.selection.population_size; ++m) {
    INFO("member " << m);
    const auto fa = io::read_committed_member(a, last, m);
    const auto fb = io::read_committed_member(b, last, m);
    CHECK(fa.genome == fb.genome);
    CHECK(fa.fitness == fb.fitness);
    REQUIRE(fa.state.size() == fb.state.size());
    for (std::size_t i = 0; i < fa.state.size(); ++i) {
      INFO(fa.state[i].name);
      CHECK(torch::equal(fa.state[i].tensor, fb.state[i].tensor));
    }
  }
}

}  // namespace

TEST_CASE("hyper search: the task sets each generation's learning rate and keeps the Adam moments") {
  torch::set_num_threads(1);
  const test::ToyTask task(ExtraInherit::Donor, 4, toy_hyper());
  const SearchSpace& s = task.space();
  REQUIRE(s.size() == toy::toy_space().size() + 1);
  Genome g(s.size(), 0);
  g.back() = 3;
  Member m = task.create(g, 5, torch::kCPU);
  CHECK(m.optimizers[0]->param_groups()[0].options().get_lr() == Approx(s.values(s.size() - 1)[3]));
  task.train(m, 0, 1, 7);
  m.genome.back() = 10;  // as after an exploit: the same optimizer, another value of the gene
  task.train(m, 1, 1, 8);
  auto& opt = *m.optimizers[0];
  CHECK(opt.param_groups()[0].options().get_lr() == Approx(s.values(s.size() - 1)[10]));
  const auto& state = opt.state();
  REQUIRE_FALSE(state.empty());
  const auto& adam = static_cast<const torch::optim::AdamWParamState&>(*state.begin()->second);
  CHECK(adam.step() == 8);  // two steps of 4 updates: the moments continued
}

TEST_CASE("hyper search: results with hyperparameter genes do not depend on the number of workers") {
  torch::set_num_threads(1);
  test::TempDir dir;
  for (Algorithm algo : {Algorithm::PbtNas, Algorithm::Mutation}) {
    const RunConfig cfg = hyper_config(algo);
    const test::ToyTask task(ExtraInherit::Donor, 4, cfg.hyperparameters);
    const std::string name = to_string(algo);
    REQUIRE(run_search(cfg, task, 3, dir.file("two_" + name)) == 0);
    REQUIRE(run_search(cfg, task, 4, dir.file("three_" + name)) == 0);
    check_same_members(dir.file("two_" + name), dir.file("three_" + name), cfg);
    // The genes took part: the final population holds several learning rates, and in the mutation
    // algorithm the explore step changed some.
    const auto idx = io::read_index(io::index_file_path(dir.file("two_" + name), cfg.n_steps() - 1));
    std::set<int> levels;
    for (const auto& mr : idx.members) levels.insert(mr.genome.back());
    CHECK(levels.size() > 1);
    if (algo == Algorithm::Mutation) {
      int explored = 0;
      for (const auto& inc : idx.history)
        for (int gene : inc.changed_genes) explored += gene == static_cast<int>(task.space().size()) - 1;
      CHECK(explored > 0);
    }
  }
}

TEST_CASE("hyper search: stopped and resumed with hyperparameter genes, members equal the uninterrupted run") {
  torch::set_num_threads(1);
  test::TempDir dir;
  const RunConfig cfg = hyper_config(Algorithm::Mutation);
  const test::ToyTask task(ExtraInherit::Donor, 4, cfg.hyperparameters);
  REQUIRE(run_search(cfg, task, 3, dir.file("whole")) == 0);
  RunConfig stopping = cfg;
  stopping.stop_after_generation = 1;
  REQUIRE(run_search(stopping, task, 3, dir.file("resumed")) == kExitCheckpointed);
  REQUIRE(run_search(stopping, task, 4, dir.file("resumed")) == 0);  // resumes, with another worker count
  check_same_members(dir.file("whole"), dir.file("resumed"), cfg);
}
