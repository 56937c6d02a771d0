// The coordinator and worker protocol in one process: ranks are threads talking through
// LocalTransport, the task is the classification task on a small synthetic data set.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <thread>

#include "../tasks/task_test_util.hpp"
#include "pbtnas/core/config.hpp"
#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/io/member_file.hpp"
#include "pbtnas/index/run_dir.hpp"
#include "pbtnas/io/run_files.hpp"
#include "pbtnas/protocol/coordinator.hpp"
#include "pbtnas/run/worker.hpp"
#include "pbtnas/tasks/classify/classify.hpp"
#include "pbtnas/tasks/registry.hpp"
#include "support/local_transport.hpp"
#include "support/threaded_search.hpp"
#include "support/seed.hpp"

using namespace pbtnas;

namespace {

RunConfig protocol_config(const ClassifyOptions& data, Algorithm algo) {
  RunConfig cfg;
  cfg.seed = test::test_seed();
  cfg.algorithm = algo;
  cfg.selection.population_size = 4;
  cfg.selection.parents_fraction = 0.5;
  cfg.selection.n_children = 1;
  cfg.max_epochs = 3;
  cfg.epochs_step = 1;
  auto options = std::make_shared<ClassifyOptions>(data);
  options->samples_per_epoch = 128;
  cfg.task_options = options;
  cfg.checkpoint.keep = 0;
  cfg.source_text = "protocol test";
  return cfg;
}

// Runs a whole search with `ranks` ranks as threads; returns the final index.
io::GenerationIndex run_search(const RunConfig& cfg, int ranks, const std::string& out, int* exit_code) {
  *exit_code = test::run_ranks_as_threads(cfg, task_space(cfg), out, ranks, [&](Transport& t, Logger& log) {
    ClassifyTask task(cfg.options<ClassifyOptions>(), cfg.seed);
    return Worker(t, cfg, &task, "", torch::kCPU, 1, log).run();
  });
  return io::read_index(io::index_file_path(out, cfg.n_steps() - 1));
}

}  // namespace

TEST_CASE("protocol in one process: a run commits every generation and exploits") {
  torch::set_num_threads(1);
  test::TempDir dir;
  const auto data = test::synthetic_classify_config(dir, 400, 100, test::test_seed());
  const RunConfig cfg = protocol_config(data, Algorithm::PbtNas);
  int code = -1;
  const auto idx = run_search(cfg, 3, dir.file("out"), &code);
  CHECK(code == 0);
  CHECK(idx.generation == 2);
  CHECK(idx.history.size() == 4 + 2);  // one child after each of the first two generations
  for (const auto& m : idx.members) CHECK(m.fitness.size() == 3);
  for (std::int64_t g = 0; g < 3; ++g) CHECK_NOTHROW(io::verify_generation(dir.file("out"), g));
  CHECK(std::ifstream(dir.file("out/summary.json")).good());
}

TEST_CASE("protocol in one process: results do not depend on the number of workers") {
  torch::set_num_threads(1);
  test::TempDir dir;
  const auto data = test::synthetic_classify_config(dir, 400, 100, test::test_seed());
  for (Algorithm algo : {Algorithm::PbtNas, Algorithm::Mutation}) {
    const RunConfig cfg = protocol_config(data, algo);
    int c1 = -1, c3 = -1;
    const auto one = run_search(cfg, 2, dir.file(std::string("one_") + to_string(algo)), &c1);
    const auto three = run_search(cfg, 4, dir.file(std::string("three_") + to_string(algo)), &c3);
    CHECK(c1 == 0);
    CHECK(c3 == 0);
    REQUIRE(one.members.size() == three.members.size());
    for (std::size_t i = 0; i < one.members.size(); ++i) {
      CHECK(one.members[i].genome == three.members[i].genome);
      CHECK(one.members[i].fitness == three.members[i].fitness);
      CHECK(one.members[i].lineage == three.members[i].lineage);
    }
  }
}
