// `pbtnas bench-TASK CONFIG`: hands the parsed options to the task's own benchmark (TaskEntry::bench).
#include <iostream>
#include <stdexcept>

#include "cli/commands.hpp"
#include "pbtnas/core/config.hpp"
#include "pbtnas/tasks/registry.hpp"

namespace pbtnas::cli {

int bench_task_command(const std::string& task, const BenchTaskOptions& o) {
  const std::string command = "bench-" + task;
  try {
    const TaskEntry& entry = find_task(task);
    const RunConfig cfg = load_run_config(o.config);
    if (cfg.task != entry.name)
      throw std::invalid_argument(command + " needs a config with task: " + entry.name + " (e.g. " +
                                  entry.bench.example_config + "), got task '" + cfg.task + "' in " + o.config +
                                  (find_task(cfg.task).bench.run ? "; for task: " + cfg.task + " use bench-" + cfg.task
                                                                 : std::string()));
    BenchRequest request;
    request.config_path = o.config;
    request.config = &cfg;
    request.values = o.values;
    for (const auto& [name, on] : o.switches) request.values[name] = on ? "true" : "false";
    request.find_file = find_script;
    entry.bench.run(request);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pbtnas " << command << ": " << e.what() << std::endl;
    return 2;
  }
}

}  // namespace pbtnas::cli
