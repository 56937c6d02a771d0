#include "pbtnas/run/final_soup.hpp"

#include "pbtnas/core/hyper_genes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <nlohmann/json.hpp>

#include "pbtnas/core/seed.hpp"
#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/io/member_file.hpp"
#include "pbtnas/io/member_shard.hpp"
#include "pbtnas/index/run_dir.hpp"
#include "pbtnas/nn/member.hpp"

namespace pbtnas {
namespace {

nlohmann::ordered_json metrics_json(const std::vector<Metric>& metrics) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& m : metrics) j[m.name] = std::isfinite(m.value) ? nlohmann::ordered_json(m.value) : nlohmann::ordered_json(nullptr);
  return j;
}

}  // namespace

FinalSoup make_final_soup(const std::string& out, std::int64_t generation, const RunConfig& cfg, const Task& task,
                          torch::Device device) {
  FinalSoup r;
  r.generation = generation;
  r.finished = generation + 1 >= cfg.n_steps();
  r.fitness_name = task.fitness_name();
  const io::GenerationIndex idx = io::read_index(io::index_file_path(out, generation));

  // Candidates: the members sharing the best member's architecture (hyperparameter genes may
  // differ: they shape the training, not the network), best first (ties: lower id).
  std::vector<int> order;
  for (const auto& m : idx.members) order.push_back(m.id);
  auto fitness_of = [&](int id) { return idx.members.at(static_cast<std::size_t>(id)).last_fitness(); };
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return fitness_of(a) > fitness_of(b); });
  r.best_member = order.front();
  r.best_fitness_search = fitness_of(r.best_member);
  const Genome& genome = idx.members.at(static_cast<std::size_t>(r.best_member)).genome;
  const Genome arch = architecture_genome(task.space(), genome);
  for (int id : order)
    if (architecture_genome(task.space(), idx.members.at(static_cast<std::size_t>(id)).genome) == arch &&
        std::isfinite(fitness_of(id)))
      r.candidates.push_back(id);
  if (r.candidates.empty())
    throw std::runtime_error("generation " + std::to_string(generation) + " of " + out +
                             " has no member with a finite fitness to make a soup of");

  std::map<int, NamedState> states;
  for (auto& [id, file] : io::read_members(out, idx, r.candidates)) states[id] = std::move(file.state);

  const std::vector<std::string> groups{"model.", "average."};
  // Every soup is scored the same way: the task's fitness measured after a training call of
  // zero epochs (which ends with the task's evaluation), all with one seed, so the best member
  // and each trial soup see the same latents or episodes.
  const std::uint64_t seed = derive_seed(cfg.seed, generation + 1, cfg.selection.population_size, Purpose::Train);
  const int epoch = static_cast<int>((generation + 1) * cfg.epochs_step);
  auto build = [&](const std::vector<int>& members) {
    std::vector<const NamedState*> parts;
    for (int id : members) parts.push_back(&states.at(id));
    Member m = task.create(genome, 0, device);
    import_member_state(m, average_states(parts, groups));
    return m;
  };
  auto measure = [&](const std::vector<int>& members) {
    Member m = build(members);
    const StepStats s = task.train(m, epoch, 0, seed);
    return s.diverged ? std::numeric_limits<double>::quiet_NaN() : task.fitness(m);
  };
  r.best_fitness = measure({r.best_member});
  r.soup = greedy_soup(r.candidates, r.best_fitness, measure);
  if (r.soup.members.size() > 1) {
    Member best = build({r.best_member});
    Member soup = build(r.soup.members);
    r.best_final = task.final_metrics(best);
    r.soup_final = task.final_metrics(soup);
    io::MemberFile f;
    f.id = r.best_member;
    f.generation = generation;
    f.genome = genome;
    f.genome_options = task.space().option_names(genome);
    f.fitness = {r.soup.fitness};
    f.state = export_member_state(soup);
    for (const auto& m : r.soup_final) f.evaluation.emplace_back(m.name, m.value);
    r.file = out + "/soup.h5";
    io::write_member_file(r.file, f);
  }
  return r;
}

std::string soup_json(const FinalSoup& s) {
  nlohmann::ordered_json j;
  j["generation"] = s.generation;
  j["finished"] = s.finished;
  j["best_member"] = s.best_member;
  j["candidates"] = s.candidates;
  j["fitness_name"] = s.fitness_name;
  j["best_fitness_search"] = s.best_fitness_search;
  j["best_fitness"] = s.best_fitness;  // re-measured with the soup's seed
  nlohmann::ordered_json tried = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < s.soup.tried.size(); ++i)
    tried.push_back({{"candidate", s.candidates[i + 1]}, {"fitness", s.soup.tried[i]}});
  j["tried"] = tried;
  j["members"] = s.soup.members;
  j["fitness"] = s.soup.fitness;
  if (!s.best_final.empty() || !s.soup_final.empty())
    j["final"] = {{"best", metrics_json(s.best_final)}, {"soup", metrics_json(s.soup_final)}};
  if (!s.file.empty()) j["file"] = s.file;
  return j.dump(2);
}

}  // namespace pbtnas
