#include "pbtnas/protocol/training_progress.hpp"

#include <algorithm>

namespace pbtnas {

TrainingTracker::TrainingTracker(std::int64_t generation, int steps, int members, double seconds_per_generation)
    : generation_(generation),
      steps_(steps),
      seconds_per_generation_(seconds_per_generation),
      members_(static_cast<std::size_t>(std::max(0, members))) {}

void TrainingTracker::add(const FitnessReport& r) {
  if (r.member < 0 || static_cast<std::size_t>(r.member) >= members_.size()) return;
  State& m = members_[static_cast<std::size_t>(r.member)];
  if (m.done) return;
  m.samples = r.samples;
  if (r.partial) {
    m.total = r.total_samples;
  } else {
    m.done = true;
  }
}

TrainingProgress TrainingTracker::snapshot(double elapsed) const {
  TrainingProgress p;
  p.generation = generation_;
  p.steps = steps_;
  p.members = static_cast<int>(members_.size());
  p.elapsed_seconds = elapsed;
  double work = 0.0;
  for (const State& m : members_) {
    p.samples_done += m.samples;
    if (m.done) {
      ++p.members_done;
      work += 1.0;
    } else if (m.samples > 0 || m.total > 0) {
      ++p.running;
      if (m.total > 0) work += std::min(1.0, static_cast<double>(m.samples) / static_cast<double>(m.total));
    }
  }
  p.fraction = p.members > 0 ? work / p.members : 0.0;
  if (p.fraction >= 0.01) {
    const double length = elapsed / p.fraction;  // this generation's estimated training time
    p.eta_generation_seconds = std::max(0.0, length - elapsed);
    const double later = static_cast<double>(std::max<std::int64_t>(0, steps_ - generation_ - 1));
    p.eta_run_seconds = p.eta_generation_seconds + later * (seconds_per_generation_ > 0.0 ? seconds_per_generation_ : length);
  }
  return p;
}

}  // namespace pbtnas
