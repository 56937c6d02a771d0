// Whole RL searches with a shared replay pool (rl.replay: shared) in one process: ranks are threads
// talking through LocalTransport, so the workers' end-of-generation exchange of new steps
// (run/shared_exchange.hpp) runs between threads. The pool of every generation (pool.h5) and every
// member must not depend on the number of workers, nor on a stop and a resume with another one.
#include <catch2/catch.hpp>

#include <set>

#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/io/member_file.hpp"
#include "pbtnas/io/member_shard.hpp"
#include "pbtnas/index/run_dir.hpp"
#include "pbtnas/protocol/coordinator.hpp"
#include "pbtnas/run/worker.hpp"
#include "pbtnas/tasks/rl/pool.hpp"
#include "pbtnas/tasks/rl/rl_task.hpp"
#include "support/seed.hpp"
#include "support/temp_dir.hpp"
#include "support/threaded_search.hpp"

using namespace pbtnas;
using namespace pbtnas::rl;

namespace {

RunConfig pool_config() {
  RunConfig cfg;
  cfg.seed = test::test_seed();
  cfg.algorithm = Algorithm::PbtNas;
  cfg.selection.population_size = 4;
  cfg.selection.parents_fraction = 0.5;
  cfg.selection.n_children = 1;
  cfg.max_epochs = 3;
  cfg.epochs_step = 1;
  cfg.task = "rl";
  auto o = std::make_shared<RlOptions>();
  o->env = "cartpole_swingup";
  o->hidden_dim = 8;
  o->batch_size = 8;
  o->frames_per_epoch = 400;
  o->seed_frames = 200;
  o->exploration_steps = 50;
  o->eval_episodes = 1;
  o->final_eval_episodes = 0;
  o->replay = "shared";
  o->pool_capacity = 1000;  // 4 x 201 steps per generation: full in the second generation
  cfg.task_options = o;
  cfg.checkpoint.keep = 0;
  cfg.source_text = "rl pool test";
  return cfg;
}

int run_search(const RunConfig& cfg, int ranks, const std::string& out) {
  const RlTask task(cfg.options<RlOptions>(), cfg.seed);
  return test::run_ranks_as_threads(cfg, task.space(), out, ranks, [&](Transport& t, Logger& log) {
    return Worker(t, cfg, &task, "", torch::kCPU, 1, log).run();
  });
}

void check_same_state(const NamedState& a, const NamedState& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].name);
    CHECK(a[i].name == b[i].name);
    // Bit-exact, NaN included (a child's stored evaluation is NaN until it has trained).
    const bool same = a[i].tensor.is_floating_point()
                          ? torch::allclose(a[i].tensor, b[i].tensor, 0.0, 0.0, /*equal_nan=*/true)
                          : torch::equal(a[i].tensor, b[i].tensor);
    CHECK(same);
  }
}

// Every generation: the same pool file and the same members.
void check_same_runs(const RunConfig& cfg, const std::string& a, const std::string& b, std::int64_t from = 0) {
  for (std::int64_t g = from; g < cfg.n_steps(); ++g) {
    INFO("generation " << g);
    const auto pa = io::read_shared_file(io::shared_file_path(a, g, "pool"));
    const auto pb = io::read_shared_file(io::shared_file_path(b, g, "pool"));
    check_same_state(pa.state, pb.state);
    for (int m = 0; m < cfg.selection.population_size; ++m) {
      INFO("member " << m);
      const auto fa = io::read_committed_member(a, g, m);
      const auto fb = io::read_committed_member(b, g, m);
      CHECK(fa.genome == fb.genome);
      CHECK(fa.fitness == fb.fitness);
      check_same_state(fa.state, fb.state);
    }
  }
}

}  // namespace

TEST_CASE("shared pool search: every member's steps reach the pool, in member order, FIFO", "[rl][pool]") {
  torch::set_num_threads(1);
  test::TempDir dir;
  const RunConfig cfg = pool_config();
  const std::string out = dir.file("out");
  REQUIRE(run_search(cfg, 3, out) == 0);
  for (std::int64_t g = 0; g < cfg.n_steps(); ++g) {
    INFO("generation " << g);
    const auto idx = io::read_index(io::index_file_path(out, g));
    bool listed = false;
    for (const auto& f : idx.files) listed = listed || (f.member == io::kSharedFileMember && f.file == "pool.h5");
    CHECK(listed);
    ReplayPool pool(1000, ReplayBuffer::create(1, 5, 1));
    pool.import_state(io::read_shared_file(io::shared_file_path(out, g, "pool")).state);
    // 200 agent steps per member and generation, plus the first step of its episode.
    CHECK(pool.size() == std::min<std::int64_t>(1000, 804 * (g + 1)));
    const std::vector<int> members = pool.row_members();
    std::vector<int> newest(members.end() - 804, members.end()), expect;
    for (int m = 0; m < 4; ++m) expect.insert(expect.end(), 201, m);
    CHECK(newest == expect);
    for (int m = 0; m < 4; ++m) {
      const auto f = io::read_committed_member(out, g, m);
      for (const auto& nt : f.state) CHECK(nt.name.rfind("extra.replay", 0) != 0);
    }
  }
}

TEST_CASE("shared pool search: pool and members do not depend on the number of workers", "[rl][pool]") {
  torch::set_num_threads(1);
  test::TempDir dir;
  const RunConfig cfg = pool_config();
  REQUIRE(run_search(cfg, 3, dir.file("two")) == 0);
  REQUIRE(run_search(cfg, 4, dir.file("three")) == 0);
  check_same_runs(cfg, dir.file("two"), dir.file("three"));
}

TEST_CASE("shared pool search: stopped and resumed on another worker count, equal to the whole run", "[rl][pool]") {
  torch::set_num_threads(1);
  test::TempDir dir;
  const RunConfig cfg = pool_config();
  REQUIRE(run_search(cfg, 3, dir.file("whole")) == 0);
  RunConfig stopping = cfg;
  stopping.stop_after_generation = 0;
  REQUIRE(run_search(stopping, 4, dir.file("resumed")) == kExitCheckpointed);
  REQUIRE(run_search(stopping, 3, dir.file("resumed")) == 0);
  check_same_runs(cfg, dir.file("whole"), dir.file("resumed"));
}
