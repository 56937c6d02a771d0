#pragma once
// The costs a worker measures of a member for selection.objectives (docs/algorithm.md, "Beyond the
// paper: several objectives"): its scalar parameters, and the latency of a forward pass.
#include "pbtnas/core/config.hpp"
#include "pbtnas/core/messages.hpp"
#include "pbtnas/tasks/task.hpp"

namespace pbtnas {

// Median milliseconds of `repeats` timed forward passes of a batch (Task::forward_batch) on the
// member's device, after one untimed pass (warm-up); in eval mode, without gradients, waiting for
// the device after each pass. Throws when the task has no forward pass to time.
double measure_latency_ms(const Task& task, Member& member, int repeats);

// Fills report.parameters and report.latency_ms as selection.objectives asks (nothing else).
void measure_costs(const RunConfig& cfg, const Task& task, Member& member, FitnessReport& report);

}  // namespace pbtnas
