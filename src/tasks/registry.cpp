#include "pbtnas/tasks/registry.hpp"

#include <stdexcept>

#include "pbtnas/core/config_section.hpp"
#include "pbtnas/tasks/gan/gan_entry.hpp"
#include "pbtnas/tasks/classify/classify.hpp"
#include "pbtnas/tasks/rl/rl_task.hpp"
#include "pbtnas/tasks/toy/toy_task.hpp"

namespace pbtnas {

const std::vector<TaskEntry>& task_registry() {
  static const std::vector<TaskEntry> entries{
      classify::classify_task_entry(),
      gan::gan_task_entry(),
      rl::rl_task_entry(),
      toy::toy_task_entry(),
  };
  return entries;
}

const TaskEntry& find_task(const std::string& name) {
  if (name.empty()) return task_registry().front();
  std::string names;
  std::vector<std::string> known;
  for (const auto& e : task_registry()) {
    if (e.name == name) return e;
    names += (names.empty() ? "" : ", ") + e.name;
    known.push_back(e.name);
  }
  const std::string near = closest_key(name, known);
  throw std::invalid_argument("'task' = '" + name + "' is not a task" +
                              (near.empty() ? std::string() : " (did you mean '" + near + "'?)") +
                              "; valid tasks: " + names);
}

RunConfig parse_run_config(const std::string& yaml_text, const std::string& origin) {
  RunConfig cfg = parse_config(yaml_text, origin);
  if (cfg.task.empty()) {
    cfg.task = find_task("").name;
    if (!cfg.task_section.empty() && cfg.task_section != cfg.task)
      throw std::invalid_argument("config " + origin + ": '" + cfg.task_section + "' is not a known key; the config "
                                  "sets no task, so it runs the default task '" + cfg.task + "' whose section is '" +
                                  cfg.task + ":' (to run another task, set task: NAME) (see docs/config.md)");
  }
  try {
    const TaskEntry& entry = find_task(cfg.task);
    ConfigSection root = ConfigSection::root(yaml_text, origin);
    cfg.task_options = entry.parse(root.sub(cfg.task));
    for (auto& k : root.recorded()) cfg.effective.push_back(std::move(k));
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    if (what.rfind("config ", 0) == 0) throw;
    throw std::invalid_argument("config " + origin + ": " + what);
  }
  return cfg;
}

RunConfig load_run_config(const std::string& path) {
  return parse_run_config(read_config_file(path), "'" + path + "'");
}

namespace {
std::shared_ptr<const TaskOptions> bound_options(const RunConfig& cfg) {
  if (cfg.task_options) return cfg.task_options;
  return parse_run_config(cfg.source_text, "(run config)").task_options;
}
}  // namespace

SearchSpace task_space(const RunConfig& cfg) {
  return find_task(cfg.task).space(*bound_options(cfg));
}

std::vector<std::string> final_evaluation_names(const RunConfig& cfg) {
  const TaskEntry& entry = find_task(cfg.task);
  if (!entry.final_metric_names) return {};
  std::vector<std::string> names = entry.final_metric_names(*bound_options(cfg));
  names.push_back("evaluation_seconds");  // added by the worker to every evaluation
  return names;
}

std::unique_ptr<Task> make_task(const RunConfig& cfg, torch::Device device, Logger* log) {
  return find_task(cfg.task).make(*bound_options(cfg), TaskContext{cfg.seed, device, log});
}

}  // namespace pbtnas
