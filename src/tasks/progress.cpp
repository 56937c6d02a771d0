#include "pbtnas/tasks/progress.hpp"

namespace pbtnas {
namespace {
thread_local TrainProgressSink* current_sink = nullptr;
}  // namespace

void report_train_progress(std::int64_t done, std::int64_t total) {
  if (current_sink) current_sink->progress(done, total);
}

TrainProgressScope::TrainProgressScope(TrainProgressSink* sink) : previous_(current_sink) { current_sink = sink; }

TrainProgressScope::~TrainProgressScope() { current_sink = previous_; }

}  // namespace pbtnas
