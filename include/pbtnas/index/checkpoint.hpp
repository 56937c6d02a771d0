#pragma once
// HDF5 checkpoint files (docs/checkpoint-format.md describes the layout attribute by attribute):
//   member_007.h5  one population member (member_file.hpp)
//   pool.h5        a task's population-wide state, e.g. the RL shared replay pool
//                  (member_file.hpp, SharedFile)
//   index.h5       one generation; writing it commits the generation (generation_index.hpp,
//                  run_dir.hpp)
// Every failure (missing file, not HDF5, truncated, wrong layout, unsupported dtype) is reported
// as CheckpointError naming the file, what is wrong and what to do; HDF5's own error printing is
// switched off.
#include <stdexcept>

namespace pbtnas::io {

class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The newest format_version each kind of file is written with; readers accept 1 up to it.
// Version 2 stores few HDF5 objects: member files pack small tensors per dtype, index files keep
// the member records as columns (version 1: an object per tensor / per member; still read).
// Index version 3 says where each member lies: a group of a worker's shard file (below), or a
// member file of its own (versions 1-2; still read).
constexpr int kMemberFormatVersion = 2;
constexpr int kIndexFormatVersion = 3;
constexpr const char* kMemberFormat = "pbtnas-member";
constexpr const char* kIndexFormat = "pbtnas-index";
// A task's population-wide state of one generation (nn/shared_state.hpp), format version 2 like
// member files (the same state layout); listed in index.h5 with member id kSharedFileMember.
constexpr const char* kSharedFormat = "pbtnas-shared";
constexpr int kSharedFileMember = -1;
// A worker's members of one generation in one file (shard_RRR.h5, member_shard.hpp): one group
// per member, laid out like a member file; listed in index.h5 with member id kShardFileMember.
constexpr const char* kShardFormat = "pbtnas-shard";
constexpr int kShardFormatVersion = 2;  // 2: members as columns; 1: a group per member
constexpr int kShardFileMember = -2;

}  // namespace pbtnas::io
