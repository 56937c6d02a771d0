// `pbtnas check CONFIG`: what a run checks before it trains, without MPI (docs/config.md,
// "Checking a config").
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/run_checks.hpp"
#include "cli/run_support.hpp"
#include "pbtnas/core/layout.hpp"
#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/index/run_dir.hpp"
#include "pbtnas/tasks/registry.hpp"

namespace pbtnas::cli {
namespace {

// The output folder: usable, and resumable by `cfg` when it holds a committed generation.
void check_out(const RunConfig& cfg, const std::string& out) {
  const std::string why = out_folder_problem(out);
  if (!why.empty()) throw std::invalid_argument(why);
  if (!std::filesystem::exists(out)) {
    std::cout << "output: " << out << " will be created\n";
    return;
  }
  const auto g = io::resume_generation(out);
  if (!g) {
    std::cout << "output: " << out << " holds no committed generation; the run starts fresh\n";
    return;
  }
  const io::GenerationIndex idx = io::read_index(io::index_file_path(out, *g));
  const io::ConfigVerdict v = resume_verdict(cfg, idx.config_yaml, idx.next_epoch);
  if (!v.refusal.empty()) throw std::invalid_argument(out + " " + v.refusal);
  std::cout << "output: " << out << " resumes after generation " << *g << " (epoch " << idx.next_epoch << ")"
            << (v.note.empty() ? "" : "; " + v.note) << "\n";
}

}  // namespace

int check_command(const CheckOptions& o) {
  try {
    const RunConfig cfg = load_config_with(o.config, o.sets);
    if (o.print_config) {
      std::cout << effective_yaml(cfg.effective);
      return 0;
    }
    std::cout << "config: " << o.config << " is valid: task " << cfg.task << ", algorithm " << to_string(cfg.algorithm)
              << ", population " << cfg.selection.population_size << ", " << cfg.n_steps() << " generations of "
              << cfg.epochs_step << " epoch(s)\n";
    const SearchSpace space = task_space(cfg);
    std::cout << "search space: '" << space.name() << "', " << space.size() << " genes\n";
    if (o.ranks > 0) {
      Layout layout(cfg.selection.population_size, o.ranks);
      std::cout << "ranks: " << o.ranks << " (1 coordinator, " << o.ranks - 1 << " workers)\n";
    }
    if (!o.out.empty()) check_out(cfg, o.out);
    Logger log(0);
    const torch::Device device = choose_device(cfg, 0, log);
    std::cout << "device: " << device.str() << "\n";
    const auto task = make_task(cfg, device, &log);  // reads the data as a worker would
    std::cout << "task: built on " << device.str() << " (its data read)\n";
    std::cout << "check passed" << (o.ranks > 0 ? "" : " (give --ranks R to check the rank count too)") << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pbtnas check: " << e.what() << std::endl;
    return 2;
  }
}

}  // namespace pbtnas::cli
