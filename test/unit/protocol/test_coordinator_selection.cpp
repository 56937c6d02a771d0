// The coordinator with the selection beyond the paper (selection.objectives, selection.scheme
// multi_frequency) and scripted workers: costs travel with the fitness, the final Pareto front is
// reported, and a stopped and resumed search with another worker count ends as the whole one.
#include <catch2/catch.hpp>

#include <thread>

#include "pbtnas/core/objectives.hpp"
#include "pbtnas/protocol/coordinator.hpp"
#include "support/local_transport.hpp"
#include "support/memory_run.hpp"
#include "support/seed.hpp"

using namespace pbtnas;
using test::MemoryReport;
using test::MemoryStore;

namespace {

SearchSpace space() { return test::scripted_space(); }

RunConfig config() { return test::scripted_config(12, 3, 6, test::test_seed()); }

int run(const RunConfig& cfg, MemoryStore& store, MemoryReport& report, int ranks) {
  const SearchSpace sp = space();
  test::LocalHub hub(ranks);
  const std::vector<MemberRecord> resumed = store.commits.empty() ? std::vector<MemberRecord>{}
                                                                  : store.commits.rbegin()->second.state.members;
  std::vector<std::thread> threads;
  for (int r = 1; r < ranks; ++r)
    threads.emplace_back([&, r] {
      test::LocalTransport t(hub, r);
      test::scripted_worker(t, cfg, &resumed);
    });
  test::LocalTransport zero(hub, 0);
  const int code = run_coordinator(zero, cfg, sp, store, report);
  for (auto& th : threads) th.join();
  return code;
}

std::vector<RunConfig> variants() {
  RunConfig params = config();
  params.selection.objectives = {Objective::Fitness, Objective::Parameters};
  RunConfig latency = config();
  latency.selection.objectives = {Objective::Fitness, Objective::LatencyMs};
  RunConfig mf = config();
  mf.selection.scheme = "multi_frequency";
  mf.selection.frequencies = {1, 2};
  RunConfig both = mf;
  both.selection.objectives = params.selection.objectives;
  return {params, latency, mf, both};
}

void check_same_end(const MemoryStore& a, const MemoryStore& b) {
  const auto& x = a.commits.rbegin()->second.state;
  const auto& y = b.commits.rbegin()->second.state;
  REQUIRE(x.members.size() == y.members.size());
  for (std::size_t i = 0; i < x.members.size(); ++i) {
    CHECK(x.members[i].genome == y.members[i].genome);
    CHECK(x.members[i].fitness == y.members[i].fitness);
    CHECK(x.members[i].lineage == y.members[i].lineage);
  }
  CHECK(x.history.size() == y.history.size());
}

}  // namespace

TEST_CASE("coordinator selection: the final Pareto front of fitness and -parameters is non-dominated") {
  const RunConfig cfg = variants()[0];
  MemoryStore store;
  MemoryReport report;
  REQUIRE(run(cfg, store, report, 3) == kExitOk);
  REQUIRE(report.results.size() == 1);
  const RunResult& r = report.results[0];
  CHECK(r.objectives == std::vector<std::string>{"fitness", "-parameters"});
  REQUIRE_FALSE(r.pareto_front.empty());
  const auto& last = report.generations.back();
  for (const auto& f : r.pareto_front) {
    const auto& rep = last.reports.at(static_cast<std::size_t>(f.member));
    CHECK(f.parameters == rep.parameters);
    CHECK(f.fitness == rep.fitness);
    for (const auto& other : last.reports) {  // nobody dominates a front member
      const bool dominated = other.fitness >= rep.fitness && other.parameters <= rep.parameters &&
                             (other.fitness > rep.fitness || other.parameters < rep.parameters);
      CHECK_FALSE(dominated);
    }
  }
  MemoryStore plain_store;
  MemoryReport plain;
  REQUIRE(run(config(), plain_store, plain, 3) == kExitOk);
  CHECK(plain.results[0].pareto_front.empty());  // one objective: no front reported
}

TEST_CASE("coordinator selection: results do not depend on the worker count (2 vs 3 workers)") {
  for (const RunConfig& cfg : variants()) {
    CAPTURE(cfg.selection.scheme, cfg.selection.objectives.size());
    MemoryStore a, b;
    MemoryReport ra, rb;
    REQUIRE(run(cfg, a, ra, 3) == kExitOk);
    REQUIRE(run(cfg, b, rb, 4) == kExitOk);
    check_same_end(a, b);
  }
}

TEST_CASE("coordinator selection: stopped after a commit and resumed, it ends as the whole search") {
  for (const RunConfig& cfg : variants()) {
    CAPTURE(cfg.selection.scheme, cfg.selection.objectives.size());
    MemoryStore whole;
    MemoryReport rw;
    REQUIRE(run(cfg, whole, rw, 3) == kExitOk);
    RunConfig stopping = cfg;
    stopping.stop_after_generation = 2;
    MemoryStore store;
    MemoryReport first, second;
    REQUIRE(run(stopping, store, first, 3) == kExitCheckpointed);
    REQUIRE(run(cfg, store, second, 4) == kExitOk);
    check_same_end(whole, store);
    REQUIRE(second.results.size() == 1);
    CHECK(second.results[0].pareto_front.size() == rw.results[0].pareto_front.size());
  }
}

TEST_CASE("coordinator selection: multi_frequency replaces only the due sub-populations") {
  const RunConfig cfg = variants()[2];  // frequencies [1, 2]: sub-populations {0, 2, ..} and {1, 3, ..}
  MemoryStore store;
  MemoryReport report;
  REQUIRE(run(cfg, store, report, 3) == kExitOk);
  // Sub-populations of 6: 2 replaced each time one exploits; generation g is exploit step g.
  for (const auto& s : report.generations) {
    if (s.generation + 1 >= cfg.n_steps()) continue;
    const bool both = (s.generation + 1) % 2 == 0;
    CHECK(s.plan.children.size() == (both ? 4u : 2u));
    for (const auto& c : s.plan.children)
      if (!both) CHECK(c.slot % 2 == 0);
  }
}
