// `pbtnas soup OUT`: the greedy model soup of a run's final population (docs/algorithm.md, "Model
// soups"), evaluated next to its best member, after the search. Writes OUT/soup.json and, when the
// soup holds more than the best member, OUT/soup.h5 (a member file of the soup's weights).
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/index/run_dir.hpp"
#include "pbtnas/run/final_soup.hpp"
#include "pbtnas/tasks/registry.hpp"

namespace pbtnas::cli {
namespace {

std::string describe(const std::vector<Metric>& metrics) {
  std::string s;
  for (const auto& m : metrics) s += "  " + m.name + " " + std::to_string(m.value);
  return s;
}

}  // namespace

int soup_command(const std::string& out) {
  try {
    if (std::filesystem::exists(out) && !std::filesystem::is_directory(out))
      throw std::runtime_error(out + " is a file; run `pbtnas soup` on the --out folder of a run");
    const auto gen = io::resume_generation(out);
    if (!gen)
      throw std::runtime_error(out + " holds no committed generation; run `pbtnas soup` on the --out folder of a run");
    const io::GenerationIndex idx = io::read_index(io::index_file_path(out, *gen));
    const RunConfig cfg = parse_run_config(idx.config_yaml, io::index_file_path(out, *gen) + " (config_yaml)");
    std::unique_ptr<Task> task = make_task(cfg);
    const FinalSoup r = make_final_soup(out, *gen, cfg, *task, torch::kCPU);

    std::cout << "soup of generation " << *gen << (r.finished ? " (the final population)" : " (the run is not finished)")
              << ": best member " << r.best_member << ", " << r.candidates.size()
              << " member(s) share its architecture\n";
    std::cout << "  best member alone: " << r.fitness_name << " " << r.best_fitness << "\n";
    const auto& accepted = r.soup.members;
    for (std::size_t i = 0; i < r.soup.tried.size(); ++i)
      std::cout << "  + member " << r.candidates[i + 1] << ": " << r.soup.tried[i]
                << (std::find(accepted.begin(), accepted.end(), r.candidates[i + 1]) != accepted.end() ? "  accepted" : "  rejected")
                << "\n";
    if (accepted.size() > 1)
      std::cout << "soup of " << accepted.size() << " members: " << r.fitness_name << " " << r.soup.fitness
                << " (best member alone " << r.best_fitness << ")\n  final evaluation, best member:" << describe(r.best_final)
                << "\n  final evaluation, soup:       " << describe(r.soup_final) << "\n  weights: " << r.file << "\n";
    else
      std::cout << "no member improved the best one: the soup is the best member alone (no soup.h5)\n";

    nlohmann::ordered_json j = nlohmann::ordered_json::parse(soup_json(r));
    // Next to the best-ever member's final evaluation, when the run wrote it (summary.json).
    std::ifstream summary_file(out + "/summary.json");
    const nlohmann::json summary = summary_file ? nlohmann::json::parse(summary_file, nullptr, false) : nlohmann::json();
    if (summary.is_object() && summary.contains("best_ever") && summary["best_ever"].is_object()) {
      j["best_ever"] = summary["best_ever"];
      std::cout << "best-ever member (summary.json): member " << summary["best_ever"].value("member", -1)
                << " of generation " << summary["best_ever"].value("generation", -1);
      if (summary["best_ever"].contains("evaluation"))
        for (const auto& [k, v] : summary["best_ever"]["evaluation"].items()) std::cout << "  " << k << " " << v.dump();
      std::cout << "\n";
    }
    io::write_text_file_atomic(out + "/soup.json", j.dump(2) + "\n");
    std::cout << "written: " << out << "/soup.json\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pbtnas soup: " << e.what() << std::endl;
    return 2;
  }
}

}  // namespace pbtnas::cli
