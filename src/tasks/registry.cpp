#include "pbtnas/tasks/registry.hpp"

#include <stdexcept>

#include "pbtnas/tasks/classify.hpp"

namespace pbtnas {

SearchSpace task_space(const RunConfig& cfg) {
  if (cfg.task == "classify") return ClassifyTask::space_for(cfg.classify);
  throw std::invalid_argument("unknown task '" + cfg.task + "'; valid tasks: classify");
}

std::unique_ptr<Task> make_task(const RunConfig& cfg) {
  if (cfg.task == "classify") return std::make_unique<ClassifyTask>(cfg.classify, cfg.seed);
  throw std::invalid_argument("unknown task '" + cfg.task + "'; valid tasks: classify");
}

}  // namespace pbtnas
