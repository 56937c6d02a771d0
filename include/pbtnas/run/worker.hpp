#pragma once
// A worker rank (1..R-1): owns its members (Layout), trains and scores them on its device,
// exchanges layers with other workers as the coordinator's plans say, and writes their
// checkpoint files. Message sequence per generation (see coordinator.hpp):
//   Order::train -> FitnessReport per member -> ExploitPlan -> ExploitDone ->
//   CheckpointOrder -> CheckpointDone;  finally Order::finish + FinalOrder (FinalReport by the
//   owner of the final population's best member, BestEverReport by rank 1 on OUT/best_ever.h5,
//   SoupReport by rank 1 with final_soup), or Order::stop.
#include <map>
#include <string>

#include "pbtnas/core/config.hpp"
#include "pbtnas/core/layout.hpp"
#include "pbtnas/core/log.hpp"
#include "pbtnas/nn/member.hpp"
#include "pbtnas/protocol/run_points.hpp"
#include "pbtnas/run/shared_node.hpp"
#include "pbtnas/tasks/task.hpp"
#include "pbtnas/core/transport.hpp"

namespace pbtnas {

class Worker {
 public:
  // `task` may be null when the task failed to load; the worker then reports `task_error` to the
  // coordinator at start and waits for the stop order. `points` (optional) is told when the
  // worker starts training a generation (run_points.hpp).
  Worker(Transport& transport, const RunConfig& cfg, const Task* task, std::string task_error,
         torch::Device device, int threads, Logger& log, RunPoints* points = nullptr);
  // Runs until the coordinator's stop order; returns the process exit code (0 on success).
  int run();

 private:
  bool start();
  void train(const struct Order& order);
  void checkpoint(const struct CheckpointOrder& order);
  void final_report(int member);
  void best_ever_report(const std::string& file);
  void soup_report(std::int64_t generation);

  Transport& transport_;
  const RunConfig& cfg_;
  const Task* task_;
  std::string task_error_;
  torch::Device device_;
  int threads_;
  Logger& log_;
  RunPoints* points_;
  Layout layout_;
  std::map<int, Member> members_;
  // The task's population-wide state (e.g. the RL shared replay pool): this worker's view of its
  // node's copy, or its own copy (placement_); null when the task has none. Advanced by exchange_shared_state after each training phase.
  std::unique_ptr<SharedState> shared_;
  SharedPlacement placement_;  // where its copies live (run/shared_node.hpp)
  std::string out_dir_;
  bool started_ = false;  // a StartOrder without stop arrived (the coordinator expects Ready)
  int stop_exit_code_ = 2;  // a StartOrder with stop: its exit code
};

}  // namespace pbtnas
