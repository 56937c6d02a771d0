// Whole toy searches (ranks as threads) with the selection beyond the paper switched on:
// selection.objectives [fitness, -parameters] and selection.scheme multi_frequency give the same
// members with 2 and 3 workers, and a stopped and resumed run ends as the whole one; with
// [fitness, -latency_ms] the costs reach metrics.jsonl and the front summary.json.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

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

RunConfig toy_config() {
  RunConfig cfg;
  cfg.seed = test::test_seed();
  cfg.selection.population_size = 8;
  cfg.selection.parents_fraction = 0.25;
  cfg.selection.n_children = 2;
  cfg.max_epochs = 5;
  cfg.epochs_step = 1;
  cfg.task = "toy";
  cfg.checkpoint.keep = 0;
  cfg.source_text = "toy selection";
  return cfg;
}

std::vector<std::pair<std::string, RunConfig>> variants() {
  RunConfig params = toy_config();
  params.selection.objectives = {Objective::Fitness, Objective::Parameters};
  RunConfig mf = toy_config();
  mf.selection.scheme = "multi_frequency";
  mf.selection.frequencies = {1, 2};
  return {{"objectives", params}, {"multi_frequency", mf}};
}

int run_toy(const RunConfig& cfg, const test::ToyTask& task, int ranks, const std::string& out) {
  return test::run_ranks_as_threads(cfg, task.space(), out, ranks, [&](Transport& t, Logger& log) {
    return Worker(t, cfg, &task, "", torch::kCPU, 1, log).run();
  });
}

void check_same_members(const std::string& a, const std::string& b, const RunConfig& cfg) {
  const std::int64_t last = cfg.n_steps() - 1;
  const auto ia = io::read_index(io::index_file_path(a, last));
  const auto ib = io::read_index(io::index_file_path(b, last));
  REQUIRE(ia.history.size() == ib.history.size());
  for (int m = 0; m < cfg.selection.population_size; ++m) {
    INFO("member " << m);
    const auto fa = io::read_committed_member(a, last, m);
    const auto fb = io::read_committed_member(b, last, m);
    CHECK(fa.genome == fb.genome);
    CHECK(fa.fitness == fb.fitness);
    REQUIRE(fa.state.size() == fb.state.size());
    for (std::size_t i = 0; i < fa.state.size(); ++i) CHECK(torch::equal(fa.state[i].tensor, fb.state[i].tensor));
  }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("toy selection: results do not depend on the number of workers (2 vs 3)") {
  torch::set_num_threads(1);
  test::TempDir dir;
  const test::ToyTask task;
  for (const auto& [name, cfg] : variants()) {
    INFO(name);
    REQUIRE(run_toy(cfg, task, 3, dir.file("two_" + name)) == 0);
    REQUIRE(run_toy(cfg, task, 4, dir.file("three_" + name)) == 0);
    check_same_members(dir.file("two_" + name), dir.file("three_" + name), cfg);
  }
}

TEST_CASE("toy selection: stopped and resumed, the members equal the uninterrupted run") {
  torch::set_num_threads(1);
  test::TempDir dir;
  const test::ToyTask task;
  for (const auto& [name, cfg] : variants()) {
    INFO(name);
    REQUIRE(run_toy(cfg, task, 3, dir.file("whole_" + name)) == 0);
    RunConfig stopping = cfg;
    stopping.stop_after_generation = 1;
    REQUIRE(run_toy(stopping, task, 3, dir.file("resumed_" + name)) == kExitCheckpointed);
    REQUIRE(run_toy(stopping, task, 4, dir.file("resumed_" + name)) == 0);
    check_same_members(dir.file("whole_" + name), dir.file("resumed_" + name), cfg);
  }
}

TEST_CASE("toy selection: with -latency_ms the costs reach metrics.jsonl and the front summary.json") {
  torch::set_num_threads(1);
  test::TempDir dir;
  const test::ToyTask task;
  RunConfig cfg = toy_config();
  cfg.max_epochs = 2;
  cfg.selection.objectives = {Objective::Fitness, Objective::LatencyMs};
  cfg.selection.latency_repeats = 3;
  REQUIRE(run_toy(cfg, task, 3, dir.file("latency")) == 0);
  const std::string metrics = read_text(dir.file("latency") + "/metrics.jsonl");
  CHECK(metrics.find("\"latency_ms\":") != std::string::npos);
  CHECK(metrics.find("\"parameters\":") == std::string::npos);  // not an objective: not measured
  const std::string summary = read_text(dir.file("latency") + "/summary.json");
  CHECK(summary.find("\"pareto_front\"") != std::string::npos);
  CHECK(summary.find("-latency_ms") != std::string::npos);
  // Without the key, neither is written (the paper's outputs are unchanged).
  REQUIRE(run_toy(toy_config(), task, 3, dir.file("plain")) == 0);
  CHECK(read_text(dir.file("plain") + "/metrics.jsonl").find("latency_ms") == std::string::npos);
  CHECK(read_text(dir.file("plain") + "/summary.json").find("pareto_front") == std::string::npos);
}
