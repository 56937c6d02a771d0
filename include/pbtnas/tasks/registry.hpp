#pragma once
// Tasks by name (RunConfig::task). The coordinator needs only the search space; workers build
// the whole task (which loads data).
#include <memory>

#include "pbtnas/config.hpp"
#include "pbtnas/search_space.hpp"
#include "pbtnas/tasks/task.hpp"

namespace pbtnas {

SearchSpace task_space(const RunConfig& cfg);
std::unique_ptr<Task> make_task(const RunConfig& cfg);

}  // namespace pbtnas
