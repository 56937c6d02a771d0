#pragma once
// Where the coordinator keeps a run: committed generations, the best-ever member, resume.
// HDF5 in production (io/h5_run_store.hpp), memory in tests. Pure: no HDF5 or torch here.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pbtnas/core/messages.hpp"
#include "pbtnas/core/records.hpp"

namespace pbtnas {

struct BestEver {
  double fitness = kFitnessDiverged;  // highest search fitness over all members and generations
  int member = -1;
  std::int64_t generation = -1;
};

// What a committed generation holds of the coordinator's bookkeeping.
struct CommittedState {
  std::int64_t generation = -1;
  std::vector<MemberRecord> members;
  std::vector<Incarnation> history;
  BestEver best_ever;
};

// One generation to commit: the bookkeeping after its exploit, and the member files the workers
// wrote (sizes and checksums from their CheckpointDone).
struct GenerationCommit {
  CommittedState state;
  int next_epoch = 0;
  std::vector<FileInfo> files;
};

class RunStore {
 public:
  virtual ~RunStore() = default;
  // Where workers write their member files (StartOrder::out_dir).
  virtual std::string location() const = 0;
  // The one resume policy: the newest committed generation of this run, nullopt for a fresh run.
  // The kept best-ever member is made to match the one that generation names.
  // Throws std::runtime_error naming the reason and the fix when it refuses (another config, a
  // newest committed generation that fails verification); nothing is changed then.
  virtual std::optional<CommittedState> resume() = 0;
  // Removes what was written after `generation` (-1: everything), before any worker writes.
  virtual void discard_after(std::int64_t generation) = 0;
  // Keeps member `member`'s file of `generation` as the best-ever member (after the commit of
  // `generation`, which names it; resume restores the copy when a kill came in between).
  virtual void keep_best_ever(std::int64_t generation, int member) = 0;
  // Commits the generation: a restart resumes after it.
  virtual void commit(const GenerationCommit& commit) = 0;
  // The best-ever member's file for the final evaluation ("" when none was kept).
  virtual std::string best_ever_file() const = 0;
  // How a user opens a committed generation (e.g. its index file).
  virtual std::string describe(std::int64_t generation) const = 0;
  // Whether the run's final evaluation was written (checked when the newest committed generation
  // is the run's last: such a run is finished and not evaluated again).
  virtual bool finished() const { return false; }
};

}  // namespace pbtnas
