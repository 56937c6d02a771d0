#pragma once
// Rank 0's estimate of how far a generation's training is, from the members' results and the
// progress notes their workers send while they train (messages.hpp, FitnessReport::partial).
// Pure arithmetic; the coordinator feeds it and hands snapshots to RunReport::progress.
#include <cstdint>
#include <vector>

#include "pbtnas/core/messages.hpp"
#include "pbtnas/protocol/run_report.hpp"

namespace pbtnas {

class TrainingTracker {
 public:
  // `seconds_per_generation`: the mean wall time of the generations this process has run so far
  // (training, exploit and checkpoint), or <= 0 when none has finished yet.
  TrainingTracker(std::int64_t generation, int steps, int members, double seconds_per_generation);
  // A result (partial == false) or a progress note of one member.
  void add(const FitnessReport& report);
  // The fraction done is (finished members + the running members' done/total) / members. The
  // generation's ETA extrapolates the elapsed time by that fraction (unknown below 1 %); the
  // run's adds the generations still to come at seconds_per_generation, or at this
  // generation's estimated length when no generation has finished yet.
  TrainingProgress snapshot(double elapsed_seconds) const;

 private:
  struct State {
    bool done = false;
    std::int64_t samples = 0;
    std::int64_t total = 0;
  };
  std::int64_t generation_;
  int steps_;
  double seconds_per_generation_;
  std::vector<State> members_;
};

}  // namespace pbtnas
