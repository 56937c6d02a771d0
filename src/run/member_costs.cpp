#include "pbtnas/run/member_costs.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <torch/cuda.h>

#include "pbtnas/util/clock.hpp"

namespace pbtnas {
namespace {

void wait_for_device(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

}  // namespace

double measure_latency_ms(const Task& task, Member& member, int repeats) {
  if (repeats < 1) throw std::invalid_argument("measure_latency_ms: repeats must be >= 1");
  torch::NoGradGuard no_grad;
  const bool was_training = member.model->is_training();
  member.model->eval();
  auto restore = [&] { member.model->train(was_training); };
  std::vector<double> ms;
  try {
    if (!task.forward_batch(member).defined())
      throw std::runtime_error("this task has no forward pass to time; use selection.objectives [fitness, "
                               "-parameters] instead of -latency_ms");
    wait_for_device(member.device);
    for (int i = 0; i < repeats; ++i) {
      const auto t0 = Clock::now();
      (void)task.forward_batch(member);
      wait_for_device(member.device);
      ms.push_back(1000.0 * since(t0));
    }
  } catch (...) {
    restore();
    throw;
  }
  restore();
  std::sort(ms.begin(), ms.end());
  const std::size_t n = ms.size();
  return n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
}

void measure_costs(const RunConfig& cfg, const Task& task, Member& member, FitnessReport& report) {
  if (cfg.selection.needs(Objective::Parameters)) report.parameters = count_parameters(*member.model);
  if (cfg.selection.needs(Objective::LatencyMs))
    report.latency_ms = measure_latency_ms(task, member, cfg.selection.latency_repeats);
}

}  // namespace pbtnas
