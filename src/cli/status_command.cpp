// `pbtnas status OUT` (and `pbtnas inspect OUT`): a run folder at a glance (docs/outputs.md).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/run_checks.hpp"
#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/index/run_dir.hpp"
#include "pbtnas/tasks/registry.hpp"

namespace pbtnas::cli {
namespace {

namespace fs = std::filesystem;

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// "gene=option gene=option ..." of a member of the index.
std::string genes_text(const io::GenerationIndex& idx, const Genome& genome) {
  std::string s;
  for (std::size_t g = 0; g < genome.size() && g < idx.gene_names.size(); ++g) {
    const auto& options = idx.gene_options[g];
    const int o = genome[g];
    s += (s.empty() ? "" : " ") + idx.gene_names[g] + "=" +
         (o >= 0 && static_cast<std::size_t>(o) < options.size() ? options[static_cast<std::size_t>(o)]
                                                                  : std::to_string(o));
  }
  return s;
}

void print_progress(const io::GenerationIndex& idx, const RunConfig* cfg) {
  std::cout << "progress:   generation " << idx.generation << " committed";
  if (cfg) std::cout << " [" << idx.generation + 1 << "/" << cfg->n_steps() << "], epoch " << idx.next_epoch << " of "
                     << cfg->max_epochs;
  std::cout << "\n";
  const MemberRecord* best = nullptr;
  for (const auto& m : idx.members)
    if (!best || m.last_fitness() > best->last_fitness()) best = &m;
  if (best)
    std::cout << "best:       member " << best->id << " of generation " << idx.generation << ", fitness "
              << number(best->last_fitness()) << "\n            " << genes_text(idx, best->genome) << "\n";
  if (idx.best_ever_member >= 0)
    std::cout << "best ever:  member " << idx.best_ever_member << " of generation " << idx.best_ever_generation
              << ", fitness " << number(idx.best_ever_fitness) << " (best_ever.h5)\n";
}

// The state line: finished, stopped (resumable) or not started, and what the user can do.
void print_state(const std::string& out, const io::GenerationIndex& idx, const RunConfig* cfg) {
  const bool summary = fs::exists(fs::path(out) / "summary.json");
  if (cfg && idx.generation + 1 >= cfg->n_steps() && summary) {
    std::cout << "state:      finished (summary.json); running it again does nothing. Raise max_epochs (--set "
                 "max_epochs=N) to train it further\n";
    return;
  }
  std::cout << "state:      stopped or running; the same command resumes it after generation " << idx.generation
            << "\n";
}

void print_verdict(const StatusOptions& o, const io::GenerationIndex& idx) {
  if (o.config.empty()) return;
  const RunConfig cfg = load_config_with(o.config, o.sets);
  const io::ConfigVerdict v = resume_verdict(cfg, idx.config_yaml, idx.next_epoch);
  if (!v.refusal.empty()) std::cout << "resume:     refused with " << o.config << ": " << o.out << " " << v.refusal << "\n";
  else std::cout << "resume:     " << o.config << " may resume it" << (v.note.empty() ? "" : "; " + v.note) << "\n";
}

}  // namespace

int status_command(const StatusOptions& o) {
  try {
    if (!fs::is_directory(o.out)) throw std::invalid_argument(o.out + " is not a folder; pass the --out of a run");
    std::cout << "run folder: " << o.out << "\n";
    const auto g = io::resume_generation(o.out);
    if (!g) {
      std::cout << "state:      no committed generation (not started, or stopped in its first generation); "
                   "`pbtnas run CONFIG --out "
                << o.out << "` starts it\n";
      return 0;
    }
    const io::GenerationIndex idx = io::read_index(io::index_file_path(o.out, *g));
    std::unique_ptr<RunConfig> cfg;
    try {
      cfg = std::make_unique<RunConfig>(parse_run_config(idx.config_yaml, "(the run's stored config)"));
      std::cout << "config:     task " << cfg->task << ", algorithm " << to_string(cfg->algorithm) << ", seed "
                << cfg->seed << ", population " << cfg->selection.population_size << ", max_epochs "
                << cfg->max_epochs << " in steps of " << cfg->epochs_step << "\n";
    } catch (const std::exception& e) {
      std::cout << "config:     not readable by this pbtnas (" << e.what() << ")\n";
    }
    print_progress(idx, cfg.get());
    print_state(o.out, idx, cfg.get());
    print_verdict(o, idx);
    std::cout << "stored config (" << io::index_file_path(o.out, *g) << "):\n";
    std::istringstream lines(idx.config_yaml);
    for (std::string line; std::getline(lines, line);) std::cout << "  " << line << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pbtnas status: " << e.what() << std::endl;
    return 2;
  }
}

}  // namespace pbtnas::cli
