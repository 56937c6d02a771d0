#pragma once
// index.h5: one generation: the coordinator's bookkeeping (records, lineage, history), the
// config text, and size + CRC-32 of every member file.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pbtnas/core/population.hpp"
#include "pbtnas/index/checkpoint.hpp"

namespace pbtnas::io {

// One file of a generation: `file` is the name relative to the generation directory; `member` is
// the member id of a member file, kSharedFileMember (pool.h5) or kShardFileMember (a shard).
struct FileEntry {
  int member = 0;
  std::string file;
  std::uint64_t bytes = 0;
  std::uint32_t crc32 = 0;  // zlib crc32 of the whole file
};

// Where a member's state lies: the HDF5 group `group` of the file `file` (a name listed in
// GenerationIndex::files); "" is the file's root, i.e. a member file of its own.
struct MemberLocation {
  int member = 0;
  std::string file;
  std::string group;
};

struct GenerationIndex {
  int format_version = kIndexFormatVersion;
  std::int64_t generation = 0;
  int next_epoch = 0;
  std::uint64_t seed = 0;
  std::string algorithm;
  std::string config_yaml;  // RunConfig::source_text
  std::string space_name;
  std::vector<std::string> gene_names;
  std::vector<std::vector<std::string>> gene_options;  // per gene, its option names
  std::vector<MemberRecord> members;
  std::vector<Incarnation> history;
  std::vector<FileEntry> files;
  // Format 3: the location of every member. A member without an entry here lies in the member
  // file listed under its id in `files` (formats 1-2, and indexes built that way in code).
  std::vector<MemberLocation> locations;
  double best_ever_fitness = kFitnessDiverged;
  int best_ever_member = -1;
  std::int64_t best_ever_generation = -1;
};

// Where member `id` lies (see GenerationIndex::locations). Throws CheckpointError when the index
// places it nowhere.
MemberLocation locate_member(const GenerationIndex& index, int id);
// The location of every member the index places, by member id.
std::map<int, MemberLocation> member_locations(const GenerationIndex& index);

// Atomic like write_member_file. Use commit_generation (run_dir.hpp) to commit a generation.
// `format_version` 2 (tests of old runs only) writes the index as pbtnas did before shards: no
// member locations, so every member must lie in a member file listed under its id.
void write_index(const std::string& path, const GenerationIndex& index, int format_version = kIndexFormatVersion);
GenerationIndex read_index(const std::string& path);

}  // namespace pbtnas::io
