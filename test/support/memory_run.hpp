#pragma once
// In-memory RunStore and RunReport, and a scripted worker that speaks the protocol without
// tensors: the coordinator's whole protocol runs in milliseconds with no MPI, HDF5 or data.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "pbtnas/core/config.hpp"
#include "pbtnas/core/layout.hpp"
#include "pbtnas/core/messages.hpp"
#include "pbtnas/core/search_space.hpp"
#include "pbtnas/protocol/run_report.hpp"
#include "pbtnas/protocol/run_store.hpp"

namespace pbtnas::test {

class MemoryStore : public RunStore {
 public:
  std::map<std::int64_t, GenerationCommit> commits;  // kept across runs: a restart resumes
  std::vector<std::pair<std::int64_t, int>> best_ever_kept;
  std::string refuse;                                // non-empty: resume() throws this
  std::vector<std::int64_t> discarded_after;

  std::string location() const override { return "memory"; }
  std::optional<CommittedState> resume() override {
    if (!refuse.empty()) throw std::runtime_error(refuse);
    if (commits.empty()) return std::nullopt;
    return commits.rbegin()->second.state;
  }
  void discard_after(std::int64_t g) override {
    discarded_after.push_back(g);
    commits.erase(commits.upper_bound(g), commits.end());
  }
  void keep_best_ever(std::int64_t g, int member) override { best_ever_kept.emplace_back(g, member); }
  void commit(const GenerationCommit& c) override { commits[c.state.generation] = c; }
  std::string best_ever_file() const override { return best_ever_kept.empty() ? "" : "memory:best_ever"; }
  std::string describe(std::int64_t g) const override { return "memory:" + std::to_string(g); }
};

class MemoryReport : public RunReport {
 public:
  std::vector<std::string> lines, warnings;
  std::vector<RunStart> starts;
  std::vector<GenerationSummary> generations, scored_generations;
  std::vector<RunResult> results;
  void info(const std::string& l) override { lines.push_back(l); }
  void warn(const std::string& l) override { warnings.push_back(l); }
  void started(const RunStart& s) override { starts.push_back(s); }
  void scored(const GenerationSummary& s) override { scored_generations.push_back(s); }
  void generation(const GenerationSummary& s) override { generations.push_back(s); }
  void finished(const RunResult& r) override { results.push_back(r); }
};

// A deterministic fitness of (genome, generation): no training, but distinct values.
inline double scripted_fitness(const Genome& g, std::int64_t generation) {
  double f = 0.0;
  for (std::size_t i = 0; i < g.size(); ++i) f += (static_cast<double>(g[i]) + 1.0) * static_cast<double>((i * 7 + 3) % 11);
  return f + 0.001 * static_cast<double>(generation);
}

// A deterministic cost of a genome (selection.objectives): larger options hold more parameters.
inline std::int64_t scripted_parameters(const Genome& g) {
  std::int64_t p = 100;
  for (std::size_t i = 0; i < g.size(); ++i) p += 10 * g[i] * static_cast<std::int64_t>(i + 1);
  return p;
}

struct ScriptedFaults {
  std::string start_error;       // reported in WorkerReady
  std::int64_t fail_train_at = -1;  // a FitnessReport with an error in this generation
};

// The worker side of the protocol for rank t.rank(): genomes come from the StartOrder (fresh) or
// from `resumed` (the members of the committed generation), and change as plans say.
inline int scripted_worker(Transport& t, const RunConfig& cfg, const std::vector<MemberRecord>* resumed,
                           ScriptedFaults faults = {}) {
  const Layout layout(cfg.selection.population_size, t.size());
  const auto start = receive_message<StartOrder>(t, 0);
  if (start.stop) return 2;
  std::map<int, Genome> genomes;
  for (int m : layout.members_of(t.rank()))
    genomes[m] = start.resume_generation < 0 ? start.genomes.at(static_cast<std::size_t>(m))
                                             : resumed->at(static_cast<std::size_t>(m)).genome;
  send_message(t, 0, WorkerReady{"scripted", 1, faults.start_error});
  for (;;) {
    const auto order = receive_message<Order>(t, 0);
    if (order.kind == Order::Kind::Stop) return order.exit_code;
    if (order.kind == Order::Kind::Finish) {
      const auto last = receive_message<FinalOrder>(t, 0);
      if (genomes.count(last.final_member))
        send_message(t, 0, FinalReport{last.final_member, scripted_fitness(genomes[last.final_member], -1), 0.5, 42, ""});
      if (!last.best_ever_file.empty() && t.rank() == 1) {
        BestEverReport b;
        b.metric_names = {"score"};
        b.metric_values = {1.0};
        send_message(t, 0, b);
      }
      return 0;
    }
    for (const auto& [m, g] : genomes) {
      FitnessReport r;
      r.member = m;
      r.generation = order.generation;
      r.fitness = scripted_fitness(g, order.generation);
      r.parameters = scripted_parameters(g);
      r.latency_ms = 0.01 * static_cast<double>(r.parameters);
      if (cfg.nan_member == m && cfg.nan_generation == order.generation) {
        r.diverged = true;
        r.fitness = kFitnessDiverged;
      }
      if (faults.fail_train_at == order.generation) r.error = "member " + std::to_string(m) + ": scripted failure";
      send_message(t, 0, r);
    }
    const auto plan = receive_message<ExploitPlan>(t, 0);
    for (const auto& c : plan.children)
      if (genomes.count(c.slot)) genomes[c.slot] = c.genome;
    send_message(t, 0, ExploitDone{0.0, 0, ""});
    const auto ck = receive_message<CheckpointOrder>(t, 0);
    CheckpointDone done;
    for (const auto& [m, g] : genomes) done.files.push_back({m, "member_" + std::to_string(m), 1, 0});
    send_message(t, 0, done);
    (void)ck;
  }
}

// The scripted searches' space: 6 genes of 3 options, each owning one module.
inline SearchSpace scripted_space() {
  std::vector<Gene> genes;
  for (int i = 0; i < 6; ++i) genes.push_back({"g" + std::to_string(i), {"a", "b", "c"}, {"m" + std::to_string(i)}, false});
  return SearchSpace("scripted", std::move(genes));
}

// A scripted search's config: `population` members, top quarter as parents, `children` replaced
// per step, `max_epochs` steps of one epoch, seeded by the test seed.
inline RunConfig scripted_config(int population, int children, int max_epochs, std::uint64_t seed) {
  RunConfig cfg;
  cfg.seed = seed;
  cfg.selection.population_size = population;
  cfg.selection.parents_fraction = 0.25;
  cfg.selection.n_children = children;
  cfg.max_epochs = max_epochs;
  cfg.epochs_step = 1;
  cfg.source_text = "scripted";
  return cfg;
}

}  // namespace pbtnas::test
