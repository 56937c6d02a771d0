#pragma once
// Progress of a training call, for the live progress line of rank 0 (docs/config.md,
// runtime.progress_seconds). A task reports how far its train() call is at cheap points (every
// batch, GAN iteration or agent step) with report_train_progress; the worker installs a sink for
// the duration of each call, and without one a report does nothing but read a thread-local
// pointer. The sink decides how often to pass it on.
#include <cstdint>

namespace pbtnas {

class TrainProgressSink {
 public:
  virtual ~TrainProgressSink() = default;
  // done and total samples (RL: frames) of the running train() call; total 0 when unknown.
  virtual void progress(std::int64_t done, std::int64_t total) = 0;
};

// Passes (done, total) to this thread's sink, if one is installed.
void report_train_progress(std::int64_t done, std::int64_t total);

// Installs `sink` on this thread for the scope's lifetime (the previous sink is restored).
class TrainProgressScope {
 public:
  explicit TrainProgressScope(TrainProgressSink* sink);
  ~TrainProgressScope();
  TrainProgressScope(const TrainProgressScope&) = delete;
  TrainProgressScope& operator=(const TrainProgressScope&) = delete;

 private:
  TrainProgressSink* previous_;
};

}  // namespace pbtnas
