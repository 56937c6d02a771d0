// Whole searches with the ToyTask (no data files): ranks are threads talking through
// LocalTransport. The task's extra state ("trace", rule Donor like an RL replay buffer) must move
// with the donor across ranks, be checkpointed, and not depend on the number of workers.
#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>
#include <thread>

#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/io/member_file.hpp"
#include "pbtnas/index/run_dir.hpp"
#include "pbtnas/io/member_shard.hpp"
#include "pbtnas/io/run_files.hpp"
#include "pbtnas/protocol/coordinator.hpp"
#include "pbtnas/run/worker.hpp"
#include "support/local_transport.hpp"
#include "support/threaded_search.hpp"
#include "support/seed.hpp"
#include "support/temp_dir.hpp"
#include "support/toy_task.hpp"

using namespace pbtnas;

namespace {

RunConfig toy_config(Algorithm algo) {
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
  cfg.source_text = "toy search";
  return cfg;
}

int run_toy_search(const RunConfig& cfg, const test::ToyTask& task, int ranks, const std::string& out) {
  return test::run_ranks_as_threads(cfg, task.space(), out, ranks, [&](Transport& t, Logger& log) {
    return Worker(t, cfg, &task, "", torch::kCPU, 1, log).run();
  });
}

std::int64_t extra_value(const io::MemberFile& f, const std::string& name) {
  const torch::Tensor* t = find_tensor(f.state, name);
  if (t == nullptr) FAIL("member " << f.id << " has no " << name);
  return t->item<std::int64_t>();
}

}  // namespace

TEST_CASE("toy search: a mixed child takes the donor's extra state and it is checkpointed") {
  torch::set_num_threads(1);
  test::TempDir dir;
  const test::ToyTask task;
  const RunConfig cfg = toy_config(Algorithm::PbtNas);
  const std::string out = dir.file("out");
  REQUIRE(run_toy_search(cfg, task, 3, out) == 0);
  const auto idx = io::read_index(io::index_file_path(out, cfg.n_steps() - 1));
  int mixed = 0, crossed = 0;
  for (const auto& inc : idx.history) {
    if (inc.kind != ChildKind::Mix) continue;
    ++mixed;
    const std::int64_t g = inc.birth_generation;
    const auto child = io::read_committed_member(out, g, inc.slot);
    const auto donor = io::read_committed_member(out, g, inc.parent2);
    const auto base = io::read_committed_member(out, g, inc.parent1);
    INFO("child in slot " << inc.slot << " of generation " << g);
    CHECK(extra_value(child, "extra.trace.origin") == extra_value(donor, "extra.trace.origin"));
    CHECK(extra_value(child, "extra.trace.steps") == extra_value(donor, "extra.trace.steps"));
    if (extra_value(base, "extra.trace.origin") != extra_value(donor, "extra.trace.origin")) ++crossed;
    // With 2 workers (members round-robin), a parent on the other rank means a remote transfer.
  }
  CHECK(mixed == 6);   // two children after each of the first three generations
  CHECK(crossed > 0);  // at least one child whose parents hold different traces
}

TEST_CASE("toy search: results and extra state do not depend on the number of workers") {
  torch::set_num_threads(1);
  test::TempDir dir;
  const test::ToyTask task;
  RunConfig random_sp = toy_config(Algorithm::Random);
  random_sp.shrink_perturb_always.enabled = true;
  for (const RunConfig& cfg : {toy_config(Algorithm::PbtNas), toy_config(Algorithm::Mutation), random_sp}) {
    const std::string name = std::string(to_string(cfg.algorithm)) + (cfg.shrink_perturb_always.enabled ? "_sp" : "");
    const std::string a = dir.file("two_" + name);
    const std::string b = dir.file("four_" + name);
    REQUIRE(run_toy_search(cfg, task, 3, a) == 0);
    REQUIRE(run_toy_search(cfg, task, 5, b) == 0);
    const std::int64_t last = cfg.n_steps() - 1;
    const auto ia = io::read_index(io::index_file_path(a, last));
    const auto ib = io::read_index(io::index_file_path(b, last));
    for (std::size_t i = 0; i < ia.members.size(); ++i) {
      CHECK(ia.members[i].genome == ib.members[i].genome);
      CHECK(ia.members[i].fitness == ib.members[i].fitness);
      const auto fa = io::read_committed_member(a, last, static_cast<int>(i));
      const auto fb = io::read_committed_member(b, last, static_cast<int>(i));
      CHECK(extra_value(fa, "extra.trace.origin") == extra_value(fb, "extra.trace.origin"));
    }
  }
}

TEST_CASE("toy search: balancing by cost moves members between workers without changing results") {
  torch::set_num_threads(1);
  test::TempDir dir;
  const test::ToyTask task;
  const RunConfig fixed = toy_config(Algorithm::PbtNas);
  RunConfig balanced = fixed;
  balanced.balance = "measured";
  balanced.balance_cost_by_id = true;  // deterministic costs, so that members do move
  REQUIRE(run_toy_search(fixed, task, 3, dir.file("fixed")) == 0);
  std::ostringstream log;
  REQUIRE(test::run_ranks_as_threads(balanced, task.space(), dir.file("balanced"), 3, [&](Transport& t, Logger& l) {
            return Worker(t, balanced, &task, "", torch::kCPU, 1, l).run();
          }, &log) == 0);
  CHECK(log.str().find("moved to balance the workers") != std::string::npos);
  for (std::int64_t g = 0; g < fixed.n_steps(); ++g)
    for (int m = 0; m < fixed.selection.population_size; ++m) {
      INFO("generation " << g << ", member " << m);
      const auto a = io::read_committed_member(dir.file("fixed"), g, m);
      const auto b = io::read_committed_member(dir.file("balanced"), g, m);
      CHECK(a.genome == b.genome);
      CHECK(a.fitness == b.fitness);
      REQUIRE(a.state.size() == b.state.size());
      for (std::size_t i = 0; i < a.state.size(); ++i) {
        INFO(a.state[i].name);
        CHECK(torch::equal(a.state[i].tensor, b.state[i].tensor));
      }
    }
}

namespace {
// Rewrites committed generation `gen` of `out` as pbtnas wrote it before shards (index format 2):
// a member file per member, an index without member locations.
void rewrite_as_format2(const std::string& out, std::int64_t gen) {
  io::GenerationIndex idx = io::read_index(io::index_file_path(out, gen));
  std::vector<io::FileEntry> files;
  for (const auto& m : idx.members) {
    const std::string path = io::member_file_path(out, gen, m.id);
    files.push_back(io::write_member_file(path, io::read_committed_member(out, gen, m.id)));
  }
  for (const auto& f : idx.files) {
    if (f.member == io::kShardFileMember) std::filesystem::remove(io::generation_dir(out, gen) + "/" + f.file);
    else files.push_back(f);  // pool.h5
  }
  idx.files = files;
  idx.locations.clear();
  io::write_index(io::index_file_path(out, gen), idx, 2);
}
}  // namespace

TEST_CASE("toy search: a run checkpointed in format 2 (member files) resumes on another rank count") {
  torch::set_num_threads(1);
  test::TempDir dir;
  const test::ToyTask task;
  const RunConfig cfg = toy_config(Algorithm::PbtNas);
  REQUIRE(run_toy_search(cfg, task, 3, dir.file("whole")) == 0);
  RunConfig stopping = cfg;
  stopping.stop_after_generation = 1;
  const std::string out = dir.file("old");
  REQUIRE(run_toy_search(stopping, task, 3, out) == kExitCheckpointed);
  for (std::int64_t g : io::list_generation_dirs(out)) rewrite_as_format2(out, g);
  REQUIRE(io::read_index(io::index_file_path(out, 1)).format_version == 2);
  REQUIRE(run_toy_search(stopping, task, 4, out) == 0);
  const std::int64_t last = cfg.n_steps() - 1;
  CHECK(io::read_index(io::index_file_path(out, last)).format_version == io::kIndexFormatVersion);
  for (int m = 0; m < cfg.selection.population_size; ++m) {
    INFO("member " << m);
    const auto a = io::read_committed_member(dir.file("whole"), last, m);
    const auto b = io::read_committed_member(out, last, m);
    CHECK(a.genome == b.genome);
    CHECK(a.fitness == b.fitness);
    REQUIRE(a.state.size() == b.state.size());
    for (std::size_t i = 0; i < a.state.size(); ++i) CHECK(torch::equal(a.state[i].tensor, b.state[i].tensor));
  }
}

TEST_CASE("toy search: stopped and resumed, members and their extra state equal the uninterrupted run") {
  torch::set_num_threads(1);
  test::TempDir dir;
  const test::ToyTask task;
  const RunConfig cfg = toy_config(Algorithm::PbtNas);
  REQUIRE(run_toy_search(cfg, task, 3, dir.file("whole")) == 0);
  RunConfig stopping = cfg;
  stopping.stop_after_generation = 1;
  REQUIRE(run_toy_search(stopping, task, 3, dir.file("resumed")) == kExitCheckpointed);
  REQUIRE(run_toy_search(stopping, task, 4, dir.file("resumed")) == 0);  // resumes (other worker count)
  const std::int64_t last = cfg.n_steps() - 1;
  for (int m = 0; m < cfg.selection.population_size; ++m) {
    INFO("member " << m);
    const auto a = io::read_committed_member(dir.file("whole"), last, m);
    const auto b = io::read_committed_member(dir.file("resumed"), last, m);
    CHECK(a.genome == b.genome);
    CHECK(a.fitness == b.fitness);
    REQUIRE(a.state.size() == b.state.size());
    for (std::size_t i = 0; i < a.state.size(); ++i) {
      INFO(a.state[i].name);
      CHECK(a.state[i].name == b.state[i].name);
      CHECK(torch::equal(a.state[i].tensor, b.state[i].tensor));
    }
  }
}

TEST_CASE("toy search: a task added through its entry alone parses its section and runs") {
  torch::set_num_threads(1);
  const TaskEntry entry = test::toy_task_entry();
  const std::string yaml = "population_size: 8\nparents_fraction: 0.25\nmax_epochs: 3\nepochs_step: 1\n"
                           "task: toy\ntoy:\n  trace_rule: parent1\ncheckpoint: {keep: 0}\n";
  RunConfig cfg = parse_config(yaml, "toy.yaml");  // the core knows nothing of the toy section
  cfg.task_options = entry.parse(ConfigSection::root(yaml, "toy.yaml").sub("toy"));
  CHECK_THROWS_WITH(entry.parse(ConfigSection::root("toy: {trace_rule: random}\n", "t").sub("toy")),
                    Catch::Contains("'toy.trace_rule' = 'random'") && Catch::Contains("donor, parent1, fresh"));
  const auto task = entry.make(*cfg.task_options, TaskContext{cfg.seed, torch::kCPU, nullptr});
  CHECK(entry.space(*cfg.task_options).size() == task->space().size());
  test::TempDir dir;
  REQUIRE(run_toy_search(cfg, dynamic_cast<const test::ToyTask&>(*task), 3, dir.file("out")) == 0);
  // With rule parent1 every mixed child keeps parent1's trace.
  const auto idx = io::read_index(io::index_file_path(dir.file("out"), cfg.n_steps() - 1));
  int mixed = 0;
  for (const auto& inc : idx.history) {
    if (inc.kind != ChildKind::Mix) continue;
    ++mixed;
    const auto child = io::read_committed_member(dir.file("out"), inc.birth_generation, inc.slot);
    const auto base = io::read_committed_member(dir.file("out"), inc.birth_generation, inc.parent1);
    CHECK(extra_value(child, "extra.trace.origin") == extra_value(base, "extra.trace.origin"));
  }
  CHECK(mixed == 4);
}

TEST_CASE("toy search: random search + shrink-perturb changes the members before every step but the first") {
  torch::set_num_threads(1);
  test::TempDir dir;
  const test::ToyTask task;
  RunConfig plain = toy_config(Algorithm::Random);
  RunConfig sp = plain;
  sp.shrink_perturb_always.enabled = true;
  REQUIRE(run_toy_search(plain, task, 3, dir.file("plain")) == 0);
  REQUIRE(run_toy_search(sp, task, 3, dir.file("sp")) == 0);
  const auto p0 = io::read_index(io::index_file_path(dir.file("plain"), 0));
  const auto s0 = io::read_index(io::index_file_path(dir.file("sp"), 0));
  const auto p1 = io::read_index(io::index_file_path(dir.file("plain"), 1));
  const auto s1 = io::read_index(io::index_file_path(dir.file("sp"), 1));
  int differ = 0;
  for (std::size_t i = 0; i < p0.members.size(); ++i) {
    CHECK(p0.members[i].fitness == s0.members[i].fitness);  // the first step is untouched
    CHECK(p1.members[i].genome == s1.members[i].genome);    // random search: no exploits either way
    differ += p1.members[i].fitness != s1.members[i].fitness;
  }
  CHECK(differ == static_cast<int>(p1.members.size()));  // every member was perturbed before step 2
}

TEST_CASE("toy search: resume restores best_ever.h5 to the member the committed index names") {
  torch::set_num_threads(1);
  test::TempDir dir;
  const test::ToyTask task;
  RunConfig cfg = toy_config(Algorithm::PbtNas);
  cfg.stop_after_generation = 1;
  const std::string out = dir.file("run");
  REQUIRE(run_toy_search(cfg, task, 3, out) == kExitCheckpointed);
  const io::GenerationIndex idx = io::read_index(io::index_file_path(out, 1));
  REQUIRE(idx.best_ever_member >= 0);
  const std::string best = io::best_ever_file_path(out);
  auto held = [&] {
    const io::MemberFile m = io::read_member_file(best, false);
    return std::make_pair(m.id, m.generation);
  };
  const auto named = std::make_pair(idx.best_ever_member, idx.best_ever_generation);
  REQUIRE(held() == named);

  std::ostringstream sink;
  Logger log(0, sink, sink);
  // As a process killed between the commit and the copy (or an earlier pbtnas that copied an
  // uncommitted generation's member) leaves it: another member's file, then none at all.
  const int other = (idx.best_ever_member + 1) % cfg.selection.population_size;
  io::write_member_file(best, io::read_committed_member(out, 1, other));
  REQUIRE(held() != named);
  io::H5RunStore(out, cfg, task.space(), log).resume();
  CHECK(held() == named);
  CHECK_THAT(sink.str(), Catch::Contains("holds member " + std::to_string(other) + " of generation 1"));

  std::filesystem::remove(best);
  io::H5RunStore(out, cfg, task.space(), log).resume();
  CHECK(held() == named);
  CHECK_THAT(sink.str(), Catch::Contains("is missing"));

  // The index names a member whose generation is gone (as after a resume from an older generation
  // once a damaged newer one was moved away): the file is moved aside, never evaluated as it.
  io::GenerationIndex older = idx;
  older.best_ever_generation = 0;
  older.best_ever_member = (named.first == 5 && named.second == 0) ? 6 : 5;
  io::write_index(io::index_file_path(out, 1), older);
  std::filesystem::remove_all(io::generation_dir(out, 0));
  io::H5RunStore(out, cfg, task.space(), log).resume();
  CHECK_FALSE(std::filesystem::exists(best));
  CHECK(std::filesystem::exists(best + ".mismatched"));
  CHECK_THAT(sink.str(), Catch::Contains("is gone") && Catch::Contains("without a final evaluation of the best-ever member"));
}
