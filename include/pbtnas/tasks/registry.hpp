#pragma once
// Tasks by name. A task is one folder plus one line in task_registry() (registry.cpp): its entry
// says how to parse its config section into its options struct, which search space those options
// give, and how to build the Task on a worker. docs/architecture.md, "Adding a task".
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "pbtnas/core/config.hpp"
#include "pbtnas/core/log.hpp"
#include "pbtnas/core/search_space.hpp"
#include "pbtnas/tasks/bench.hpp"
#include "pbtnas/tasks/task.hpp"

namespace pbtnas {

class ConfigSection;
struct ExportedNetwork;  // tasks/export.hpp

// What a worker knows when it builds its task.
struct TaskContext {
  std::uint64_t run_seed = 0;
  torch::Device device = torch::kCPU;
  Logger* log = nullptr;  // may be null; progress lines (e.g. a feature network training)
  // Hyperparameter genes of the run (RunConfig::hyperparameters): the task appends them to its
  // space (with_hyper_genes) and applies their values when it trains (docs/algorithm.md).
  std::vector<HyperParameter> hyperparameters;
};

struct TaskEntry {
  std::string name;  // the value of `task:` and the key of the task's section
  // The fitness in words for people (report axes, tables): e.g. "validation accuracy".
  std::string fitness_label;
  // The task's section (absent: an empty section, i.e. all defaults) -> validated options.
  std::shared_ptr<const TaskOptions> (*parse)(ConfigSection section);
  SearchSpace (*space)(const TaskOptions& options);
  std::unique_ptr<Task> (*make)(const TaskOptions& options, const TaskContext& context);
  // The names Task::final_metrics can give with these options (a study's `metric` is checked
  // against them before any run starts); null: not known, not checked.
  std::vector<std::string> (*final_metric_names)(const TaskOptions& options) = nullptr;
  // `pbtnas export` (tasks/export.hpp): a member's network (its genome and "model."/"average."
  // tensors) with `examples` example inputs; null: the task's networks are not exported.
  ExportedNetwork (*export_member)(const TaskOptions& options, const Genome& genome, const NamedState& state,
                                   int examples) = nullptr;
  // The names the task accepts under `hyperparameters:` (hyperparameter genes, applied by its
  // Task when it trains); null: none (a config that declares any is refused).
  std::vector<std::string> (*hyperparameter_names)(const TaskOptions& options) = nullptr;
  // `pbtnas bench-<name> CONFIG` (tasks/bench.hpp): its options and body; run empty = none.
  TaskBench bench;
};

// The registered tasks; the first is the default (a config without `task:`).
const std::vector<TaskEntry>& task_registry();
// The entry named `name` ("" = the default). Throws std::invalid_argument listing the registered
// names when `name` is not one.
const TaskEntry& find_task(const std::string& name);

// parse_config (the search keys) plus the task's section, parsed by its entry into
// RunConfig::task_options. Throws std::invalid_argument naming the file, the key and the fix.
RunConfig parse_run_config(const std::string& yaml_text, const std::string& origin);
RunConfig load_run_config(const std::string& path);

// The coordinator needs only the search space (the task's, with the run's hyperparameter genes
// appended); workers build the whole task (which loads data
// and, for the GAN task, its feature network). Both bind the options from cfg.source_text when
// cfg.task_options is null.
SearchSpace task_space(const RunConfig& cfg);
// The names of the best-ever member's final evaluation (summary.json best_ever.evaluation) with
// this config: the task's final metrics plus evaluation_seconds. Empty when the task does not say.
std::vector<std::string> final_evaluation_names(const RunConfig& cfg);
std::unique_ptr<Task> make_task(const RunConfig& cfg, torch::Device device = torch::kCPU,
                                Logger* log = nullptr);

// Helper for entries: the options as their concrete type (throws std::logic_error otherwise).
template <class Options>
const Options& options_as(const TaskOptions& options, const char* task) {
  auto* o = dynamic_cast<const Options*>(&options);
  if (!o) throw std::logic_error(std::string("task ") + task + ": options of another task were passed");
  return *o;
}

}  // namespace pbtnas
