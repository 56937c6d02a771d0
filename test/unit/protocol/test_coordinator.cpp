// The coordinator's whole protocol with scripted workers, an in-memory store and report: no MPI,
// HDF5, torch or data; each search takes milliseconds.
#include <catch2/catch.hpp>

#include <thread>

#include "pbtnas/core/population.hpp"
#include "pbtnas/protocol/coordinator.hpp"
#include "support/local_transport.hpp"
#include "support/memory_run.hpp"
#include "support/seed.hpp"

using namespace pbtnas;
using test::MemoryReport;
using test::MemoryStore;

namespace {

SearchSpace space() { return test::scripted_space(); }

RunConfig config() { return test::scripted_config(8, 2, 5, test::test_seed()); }

struct Outcome {
  int code = -1;
  std::vector<int> worker_codes;
  std::string thrown;
};

Outcome run(const RunConfig& cfg, const SearchSpace& sp, MemoryStore& store, MemoryReport& report, int ranks,
            test::ScriptedFaults faults = {}, const std::atomic<int>* stop = nullptr, RunPoints* points = nullptr) {
  test::LocalHub hub(ranks);
  const std::vector<MemberRecord> resumed = store.commits.empty() ? std::vector<MemberRecord>{}
                                                                  : store.commits.rbegin()->second.state.members;
  Outcome o;
  o.worker_codes.assign(static_cast<std::size_t>(ranks), -1);
  std::vector<std::thread> threads;
  for (int r = 1; r < ranks; ++r)
    threads.emplace_back([&, r] {
      test::LocalTransport t(hub, r);
      try {
        o.worker_codes[static_cast<std::size_t>(r)] = test::scripted_worker(t, cfg, &resumed, r == 1 ? faults : test::ScriptedFaults{});
      } catch (const std::exception&) {
        o.worker_codes[static_cast<std::size_t>(r)] = -2;  // ended by the abort
      }
    });
  test::LocalTransport zero(hub, 0);
  try {
    o.code = run_coordinator(zero, cfg, sp, store, report, stop, points);
  } catch (const std::exception& e) {
    o.thrown = e.what();
    try {
      zero.abort(2);  // as main() does: end the whole job
    } catch (const std::exception&) {
    }
  }
  for (auto& th : threads) th.join();
  return o;
}

}  // namespace

TEST_CASE("coordinator: a search commits every generation, exploits, and reports the result") {
  const SearchSpace sp = space();
  const RunConfig cfg = config();
  MemoryStore store;
  MemoryReport report;
  const Outcome o = run(cfg, sp, store, report, 3);
  REQUIRE(o.code == kExitOk);
  CHECK(o.worker_codes[1] == 0);
  CHECK(o.worker_codes[2] == 0);
  REQUIRE(store.commits.size() == 5);
  CHECK(store.discarded_after == std::vector<std::int64_t>{-1});
  for (std::int64_t g = 0; g < 5; ++g) {
    const GenerationCommit& c = store.commits.at(g);
    CHECK(c.files.size() == 8);
    CHECK(c.next_epoch == g + 1);
    for (const auto& m : c.state.members) CHECK(m.fitness.size() == static_cast<std::size_t>(g + 1));
  }
  REQUIRE(report.generations.size() == 5);
  for (std::int64_t g = 0; g < 4; ++g) CHECK(report.generations[static_cast<std::size_t>(g)].plan.children.size() == 2);
  CHECK(report.generations[4].plan.empty());  // never after the last step
  CHECK(store.commits.at(4).state.history.size() == 8 + 4 * 2);
  for (const auto& s : report.generations) {
    REQUIRE(s.worker_busy_seconds.size() == 2);  // one entry per worker
    CHECK(s.worker_wait_seconds.size() == 2);
    CHECK(s.busy_share >= 0.0);
    CHECK(s.busy_share <= 1.0);
  }
  REQUIRE(report.results.size() == 1);
  const RunResult& r = report.results[0];
  CHECK(r.checkpoint == "memory:4");
  CHECK(r.has_best_ever_report);
  CHECK(r.best_ever.member >= 0);
  CHECK_FALSE(store.best_ever_kept.empty());
  // The best-ever fitness is the highest fitness any member reported.
  double best = kFitnessDiverged;
  for (const auto& s : report.generations)
    for (const auto& rep : s.reports) best = std::max(best, rep.fitness);
  CHECK(r.best_ever.fitness == best);
  // Fitness is a pure function of the genome here, so the search must have found better ones.
  CHECK(report.generations.back().best_fitness >= report.generations.front().best_fitness);
}

TEST_CASE("coordinator: stopped after a commit and resumed, it ends as the uninterrupted search") {
  const SearchSpace sp = space();
  const RunConfig cfg = config();
  MemoryStore whole_store;
  MemoryReport whole;
  REQUIRE(run(cfg, sp, whole_store, whole, 3).code == kExitOk);

  RunConfig stopping = cfg;
  stopping.stop_after_generation = 1;
  MemoryStore store;
  MemoryReport first;
  const Outcome o = run(stopping, sp, store, first, 3);
  CHECK(o.code == kExitCheckpointed);
  CHECK(o.worker_codes[1] == kExitCheckpointed);
  CHECK(store.commits.rbegin()->first == 1);
  CHECK(first.results.empty());
  MemoryReport second;
  REQUIRE(run(cfg, sp, store, second, 4).code == kExitOk);  // another worker count, too
  REQUIRE(second.starts.size() == 1);
  CHECK(second.starts[0].resumed_after == 1);
  CHECK(second.generations.front().generation == 2);
  const auto& a = whole_store.commits.at(4).state;
  const auto& b = store.commits.at(4).state;
  REQUIRE(a.members.size() == b.members.size());
  for (std::size_t i = 0; i < a.members.size(); ++i) {
    CHECK(a.members[i].genome == b.members[i].genome);
    CHECK(a.members[i].fitness == b.members[i].fitness);
    CHECK(a.members[i].lineage == b.members[i].lineage);
  }
  CHECK(a.best_ever.member == b.best_ever.member);
  CHECK(a.best_ever.generation == b.best_ever.generation);
}

// Records the run points and makes a stop request (as the signal handler does) at one of them.
struct StopAtPoint : RunPoints {
  std::atomic<int>& stop;
  RunPoint point;
  std::int64_t generation;
  std::vector<std::pair<RunPoint, std::int64_t>> calls;
  std::vector<std::int64_t> starts;
  StopAtPoint(std::atomic<int>& s, RunPoint p, std::int64_t g) : stop(s), point(p), generation(g) {}
  void started(std::int64_t resumed_after) override { starts.push_back(resumed_after); }
  void at(RunPoint p, std::int64_t g) override {
    calls.emplace_back(p, g);
    if (p == point && g == generation) stop.fetch_add(1);
  }
};

TEST_CASE("coordinator: a stop request at either run point commits that generation and says how to resume") {
  for (RunPoint point : {RunPoint::DuringTraining, RunPoint::AfterCommit}) {
    CAPTURE(to_string(point));
    std::atomic<int> stop{0};
    StopAtPoint points(stop, point, 1);
    MemoryStore store;
    MemoryReport report;
    const Outcome o = run(config(), space(), store, report, 3, {}, &stop, &points);
    CHECK(o.code == kExitCheckpointed);
    CHECK(o.worker_codes[1] == kExitCheckpointed);
    CHECK(o.worker_codes[2] == kExitCheckpointed);
    CHECK(store.commits.rbegin()->first == 1);
    CHECK(report.results.empty());
    const std::vector<std::pair<RunPoint, std::int64_t>> expected{
        {RunPoint::DuringTraining, 0}, {RunPoint::AfterCommit, 0}, {RunPoint::DuringTraining, 1}, {RunPoint::AfterCommit, 1}};
    CHECK(points.calls == expected);
    CHECK(points.starts == std::vector<std::int64_t>{-1});
    REQUIRE_FALSE(report.lines.empty());
    // 0-based like every other line ("gen 1 [2/5]"), with the exit code and how to resume.
    CHECK_THAT(report.lines.back(), Catch::StartsWith("stop requested: generation 1 [2/5] is committed; exiting with code 3.") &&
                                        Catch::Contains("run the same command again"));
  }
}

TEST_CASE("coordinator: a stop request during the last generation lets the run finish") {
  std::atomic<int> stop{0};
  StopAtPoint points(stop, RunPoint::DuringTraining, 4);
  MemoryStore store;
  MemoryReport report;
  const Outcome o = run(config(), space(), store, report, 3, {}, &stop, &points);
  CHECK(o.code == kExitOk);
  CHECK(report.results.size() == 1);
}

TEST_CASE("coordinator: a refused resume stops every worker cleanly with the reason") {
  const SearchSpace sp = space();
  MemoryStore store;
  store.refuse = "generation 3 fails verification; move it out of the way";
  MemoryReport report;
  const Outcome o = run(config(), sp, store, report, 3);
  CHECK(o.code == kExitError);
  CHECK(o.worker_codes[1] == 2);
  CHECK(o.worker_codes[2] == 2);
  REQUIRE(report.warnings.size() == 1);
  CHECK_THAT(report.warnings[0], Catch::Contains("move it out of the way"));
  CHECK(store.commits.empty());
}

TEST_CASE("coordinator: a worker that cannot start stops the run before any training") {
  MemoryStore store;
  MemoryReport report;
  const Outcome o = run(config(), space(), store, report, 3, {"no data under /nowhere", -1});
  CHECK(o.code == kExitError);
  CHECK(o.worker_codes[2] == 2);
  CHECK_THAT(report.warnings.at(0), Catch::Contains("rank 1 cannot start: no data under /nowhere"));
  CHECK(report.generations.empty());
}

TEST_CASE("coordinator: a worker failing mid-generation ends the run after the last commit") {
  MemoryStore store;
  MemoryReport report;
  const Outcome o = run(config(), space(), store, report, 3, {"", 2});
  CHECK_THAT(o.thrown, Catch::Contains("a worker failed while training") && Catch::Contains("scripted failure"));
  CHECK(store.commits.rbegin()->first == 1);  // generations 0 and 1 are committed and resumable
  CHECK(o.worker_codes[2] == -2);             // the others were ended by the abort
  // Metrics of a generation are reported before its commit (so a crash right after the commit
  // leaves them on disk).
  CHECK(report.scored_generations.size() == 2);
}

TEST_CASE("coordinator: a diverged member ranks last and is replaced, the run goes on") {
  RunConfig cfg = config();
  cfg.nan_member = 0;
  cfg.nan_generation = 0;
  MemoryStore store;
  MemoryReport report;
  REQUIRE(run(cfg, space(), store, report, 3).code == kExitOk);
  bool replaced = false;
  for (const auto& c : report.generations[0].plan.children) replaced = replaced || c.slot == 0;
  CHECK(replaced);
  CHECK(report.generations[0].reports[0].diverged);
}

TEST_CASE("the workers-ready line names every host with its ranks, devices and threads") {
  // Uneven nodes, ranks reported out of order: hosts in order of their first rank, consecutive
  // ranks as ranges.
  const std::vector<ReadyWorker> workers{
      {4, "nodec", "cuda:1", 8}, {1, "nodea", "cpu", 2}, {2, "nodeb", "cuda:0", 8},
      {3, "nodec", "cuda:0", 8}, {5, "nodeb", "cuda:1", 4}};
  CHECK(describe_ready_workers(workers) ==
        "5 on 3 hosts: nodea rank 1 (cpu x 2 threads), nodeb ranks 2,5 (cuda:0, cuda:1 x 4-8 threads), "
        "nodec ranks 3-4 (cuda:0, cuda:1 x 8 threads)");
  CHECK(describe_ready_workers({{1, "n1", "cpu", 1}, {2, "n1", "cpu", 1}}) == "2 on 1 host: n1 ranks 1-2 (cpu x 1 thread)");
}
