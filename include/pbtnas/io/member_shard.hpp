#pragma once
// shard_001.h5: the members one worker owns in one generation, in one file (index format 3): since
// shard format 2 as columns, one dataset per field for all its members and one state table for
// all their tensors; format 1, still read, had a group per member (member_007) laid out like a
// member file's root (docs/checkpoint-format.md, "Shard file"). The index names a member's place
// by its group name in both.
// One file per worker instead of one per member: creating, syncing and renaming a file costs
// more than the member it holds at large populations (docs/performance.md, "Scale").
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/io/member_file.hpp"

namespace pbtnas::io {

struct ShardEntry {
  FileEntry file;                          // member kShardFileMember
  std::vector<MemberLocation> locations;  // one per member written
};

// Writes `members` (of generation `generation`, owned by worker `rank`) into one shard file,
// atomically like write_member_file (Deferred: durable once sync_member_files has run on it).
// Returns its entry for the index and each member's location. Throws CheckpointError.
// `version` 1 writes a group per member as pbtnas did before shard format 2 (for tests of the
// readers of older runs).
ShardEntry write_member_shard(const std::string& path, std::int64_t generation, int rank,
                              const std::vector<MemberFile>& members,
                              Durability durability = Durability::Synced, int version = kShardFormatVersion);

// Reads members where an index places them (a shard's group or a member file), opening and
// checking each file once however many of its members are read.
class MemberReader {
 public:
  // `dir`: the generation directory. check_crc false skips the files' CRC (a file whose CRC its
  // writer has just reported).
  explicit MemberReader(std::string dir, bool check_crc = true);
  ~MemberReader();
  MemberReader(const MemberReader&) = delete;
  MemberReader& operator=(const MemberReader&) = delete;
  // Throws CheckpointError naming the file and the member.
  MemberFile read(const MemberLocation& where, bool load_tensors = true);

 private:
  struct Open;
  std::string dir_;
  bool check_crc_;
  std::unique_ptr<Open> open_;
};

// Members `ids` of the generation that `index` commits in run `out`, by id.
std::map<int, MemberFile> read_members(const std::string& out, const GenerationIndex& index,
                                       const std::vector<int>& ids, bool load_tensors = true);
// Member `id` of the committed generation `gen` of run `out` (its index read for the location).
MemberFile read_committed_member(const std::string& out, std::int64_t gen, int id,
                                 bool load_tensors = true);

// A member by its member-file path: PATH itself when it exists; else, for a path named like
// OUT/checkpoints/gen_NNNNNN/member_NNN.h5, that member where gen_NNNNNN's index places it (a
// shard's group: format 3 writes no member files). So that a member of a generation is named the
// same way for every format (inspect, export). Throws CheckpointError.
MemberFile read_member_path(const std::string& path, bool load_tensors = true);
// Whether read_member_path finds PATH through its generation's index (PATH does not exist).
bool is_member_in_index(const std::string& path);

}  // namespace pbtnas::io
