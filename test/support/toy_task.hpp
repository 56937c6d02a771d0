#pragma once
// The `toy` task (tasks/toy/toy_task.hpp) under the names the tests use: a whole Task without
// data files, for protocol tests.
#include "pbtnas/core/config_section.hpp"
#include "pbtnas/tasks/registry.hpp"
#include "pbtnas/tasks/toy/toy_task.hpp"
#include "support/toy_model.hpp"

namespace pbtnas::test {

using toy::ToyOptions;
using toy::ToyTask;
using toy::toy_task_entry;

}  // namespace pbtnas::test
