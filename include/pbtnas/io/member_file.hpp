#pragma once
// member_007.h5: one population member: genome, fitness history, training seed and its whole
// NamedState (network, averaged copy, optimizer state, extra state), bit-exact.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pbtnas/core/search_space.hpp"
#include "pbtnas/index/checkpoint.hpp"
#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/nn/named_state.hpp"

namespace pbtnas::io {

struct MemberFile {
  int format_version = kMemberFormatVersion;  // as read; files are written in the newest
  int id = 0;
  std::int64_t generation = 0;
  Genome genome;
  std::vector<std::string> genome_options;  // option name of each gene (same length as genome)
  std::vector<double> fitness;
  std::uint64_t train_seed = 0;
  NamedState state;
  // Optional final evaluation (best_ever.h5 after the search): metric name -> value, stored as
  // the datasets /evaluation/names (strings) and /evaluation/values (float64). Empty: no group.
  std::vector<std::pair<std::string, double>> evaluation;
};

// When a member file is durable: Synced, before write_member_file returns; Deferred, once
// sync_member_files has been called on it (a worker writes all its members of a generation, then
// syncs them together, before reporting them to the coordinator; docs/checkpoint-format.md).
enum class Durability { Synced, Deferred };

// Writes atomically (PATH.tmp, fsync, rename, fsync of the directory; parent directories are
// created; the fsyncs are left to sync_member_files when Deferred). Returns the file's entry for
// the index (its name, size and CRC-32, as describe_file, without reading the file again). Tensors may live on any device; they are stored as contiguous CPU data. Supported
// dtypes: float32/64, float16, bfloat16, int8/16/32/64, uint8, bool. Tensor names must be
// unique, non-empty dotted names without '/' or empty components. Tensors under 64 KiB are
// packed into one dataset per dtype (format version 2, docs/checkpoint-format.md).
FileEntry write_member_file(const std::string& path, const MemberFile& member,
                            Durability durability = Durability::Synced);

// Makes files written with Durability::Deferred durable: fsync of each file, then of each of
// their directories once. Throws CheckpointError.
void sync_member_files(const std::vector<std::string>& paths);

// Reads back bit-identically (same order, dtypes, shapes; CPU tensors). With load_tensors false,
// `state` lists every tensor name with an undefined tensor (cheap: no tensor data is read).
MemberFile read_member_file(const std::string& path, bool load_tensors = true);

// pool.h5: a task's population-wide state of one generation (nn/shared_state.hpp; the RL task's
// shared replay pool), written once per generation by one worker next to the member files and
// listed in index.h5 like them (member id kSharedFileMember), so that the generation commits
// together with it. Root attributes format "pbtnas-shared", format_version, name, generation;
// /tensor_names and /state as in a member file (large tensors chunked and compressed).
struct SharedFile {
  int format_version = kMemberFormatVersion;  // as read
  std::string name;                            // SharedState::name(), e.g. "pool"
  std::int64_t generation = 0;
  NamedState state;
};

// "pool.h5" for the shared state named "pool".
std::string shared_file_name(const std::string& name);
// OUT/checkpoints/gen_000003/pool.h5
std::string shared_file_path(const std::string& out, std::int64_t gen, const std::string& name);
// Atomic like write_member_file; the entry's member is kSharedFileMember.
FileEntry write_shared_file(const std::string& path, const SharedFile& file,
                            Durability durability = Durability::Synced);
SharedFile read_shared_file(const std::string& path, bool load_tensors = true);

}  // namespace pbtnas::io
