// `pbtnas soup OUT`: the greedy model soup of a run's final population (docs/algorithm.md, "Model
// soups"), evaluated next to its best member, after the search. Writes OUT/soup.json and, when the
// soup holds more than the best member, OUT/soup.h5 (a member file of the soup's weights).
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "pbtnas/core/seed.hpp"
#include "pbtnas/io/generation_index.hpp"
#include "pbtnas/io/member_file.hpp"
#include "pbtnas/io/run_dir.hpp"
#include "pbtnas/nn/member.hpp"
#include "pbtnas/nn/soup.hpp"
#include "pbtnas/tasks/registry.hpp"

namespace pbtnas::cli {
namespace {

using json = nlohmann::ordered_json;

json metrics_json(const std::vector<Metric>& metrics) {
  json j = json::object();
  for (const auto& m : metrics) j[m.name] = std::isfinite(m.value) ? json(m.value) : json(nullptr);
  return j;
}

std::string describe(const std::vector<Metric>& metrics) {
  std::string s;
  for (const auto& m : metrics) s += "  " + m.name + " " + std::to_string(m.value);
  return s;
}

}  // namespace

int soup_command(const std::string& out) {
  try {
    const auto gen = io::resume_generation(out);
    if (!gen)
      throw std::runtime_error(out + " holds no committed generation; run `pbtnas soup` on the --out folder of a run");
    const io::GenerationIndex idx = io::read_index(io::index_file_path(out, *gen));
    const RunConfig cfg = parse_run_config(idx.config_yaml, io::index_file_path(out, *gen) + " (config_yaml)");
    const bool finished = *gen + 1 >= cfg.n_steps();

    // Candidates: the members sharing the best member's genome, best first (ties: lower id).
    std::vector<int> order;
    for (const auto& m : idx.members) order.push_back(m.id);
    auto fitness_of = [&](int id) { return idx.members.at(static_cast<std::size_t>(id)).last_fitness(); };
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return fitness_of(a) > fitness_of(b); });
    const int best = order.front();
    const Genome& genome = idx.members.at(static_cast<std::size_t>(best)).genome;
    std::vector<int> candidates;
    for (int id : order)
      if (idx.members.at(static_cast<std::size_t>(id)).genome == genome && std::isfinite(fitness_of(id)))
        candidates.push_back(id);

    std::cout << "soup of generation " << *gen << (finished ? " (the final population)" : " (the run is not finished)")
              << ": best member " << best << ", " << candidates.size() << " member(s) share its architecture\n";
    std::map<int, NamedState> states;
    for (int id : candidates) states[id] = io::read_member_file(io::member_file_path(out, *gen, id)).state;

    std::unique_ptr<Task> task = make_task(cfg);
    const std::vector<std::string> groups{"model.", "average."};
    // Every soup is scored the same way: the task's fitness measured after a training call of
    // zero epochs (which ends with the task's evaluation), all with one seed, so the best member
    // and each trial soup see the same latents or episodes.
    const std::uint64_t seed = derive_seed(cfg.seed, *gen + 1, cfg.selection.population_size, Purpose::Train);
    const int epoch = static_cast<int>((*gen + 1) * cfg.epochs_step);
    auto build = [&](const std::vector<int>& members) {
      std::vector<const NamedState*> parts;
      for (int id : members) parts.push_back(&states.at(id));
      Member m = task->create(genome, 0, torch::kCPU);
      import_member_state(m, average_states(parts, groups));
      return m;
    };
    auto measure = [&](const std::vector<int>& members) {
      Member m = build(members);
      const StepStats s = task->train(m, epoch, 0, seed);
      return s.diverged ? std::numeric_limits<double>::quiet_NaN() : task->fitness(m);
    };
    const double start = measure({best});
    const GreedySoup soup = greedy_soup(candidates, start, measure);

    json j;
    j["generation"] = *gen;
    j["finished"] = finished;
    j["best_member"] = best;
    j["candidates"] = candidates;
    j["fitness_name"] = task->fitness_name();
    j["best_fitness_search"] = fitness_of(best);
    j["best_fitness"] = start;  // re-measured with the soup's seed
    json tried = json::array();
    for (std::size_t i = 0; i < soup.tried.size(); ++i)
      tried.push_back({{"candidate", candidates[i + 1]}, {"fitness", soup.tried[i]}});
    j["tried"] = tried;
    j["members"] = soup.members;
    j["fitness"] = soup.fitness;
    std::cout << "  best member alone: " << task->fitness_name() << " " << start << "\n";
    for (std::size_t i = 0; i < soup.tried.size(); ++i)
      std::cout << "  + member " << candidates[i + 1] << ": " << soup.tried[i]
                << (std::find(soup.members.begin(), soup.members.end(), candidates[i + 1]) != soup.members.end() ? "  accepted" : "  rejected")
                << "\n";
    if (soup.members.size() > 1) {
      Member best_member = build({best});
      Member soup_member = build(soup.members);
      const std::vector<Metric> best_final = task->final_metrics(best_member);
      const std::vector<Metric> soup_final = task->final_metrics(soup_member);
      j["final"] = {{"best", metrics_json(best_final)}, {"soup", metrics_json(soup_final)}};
      io::MemberFile f;
      f.id = best;
      f.generation = *gen;
      f.genome = genome;
      f.genome_options = task->space().option_names(genome);
      f.fitness = {soup.fitness};
      f.state = export_member_state(soup_member);
      for (const auto& m : soup_final) f.evaluation.emplace_back(m.name, m.value);
      io::write_member_file(out + "/soup.h5", f);
      std::cout << "soup of " << soup.members.size() << " members: " << task->fitness_name() << " " << soup.fitness
                << " (best member alone " << start << ")\n  final evaluation, best member:" << describe(best_final)
                << "\n  final evaluation, soup:       " << describe(soup_final) << "\n  weights: " << out << "/soup.h5\n";
    } else {
      std::cout << "no member improved the best one: the soup is the best member alone (no soup.h5)\n";
    }
    // Next to the best-ever member's final evaluation, when the run wrote it (summary.json).
    std::ifstream summary_file(out + "/summary.json");
    const json summary = summary_file ? json::parse(summary_file, nullptr, false) : json();
    if (summary.is_object() && summary.contains("best_ever") && summary["best_ever"].is_object()) {
      j["best_ever"] = summary["best_ever"];
      std::cout << "best-ever member (summary.json): member " << summary["best_ever"].value("member", -1)
                << " of generation " << summary["best_ever"].value("generation", -1);
      if (summary["best_ever"].contains("evaluation"))
        for (const auto& [k, v] : summary["best_ever"]["evaluation"].items()) std::cout << "  " << k << " " << v.dump();
      std::cout << "\n";
    }
    std::ofstream(out + "/soup.json") << j.dump(2) << '\n';
    std::cout << "written: " << out << "/soup.json\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pbtnas soup: " << e.what() << std::endl;
    return 2;
  }
}

}  // namespace pbtnas::cli
