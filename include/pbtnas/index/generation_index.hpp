#pragma once
// index.h5: one generation: the coordinator's bookkeeping (records, lineage, history), the
// config text, and size + CRC-32 of every member file.
#include <cstdint>
#include <string>
#include <vector>

#include "pbtnas/core/population.hpp"
#include "pbtnas/index/checkpoint.hpp"

namespace pbtnas::io {

// One member file of a generation: `file` is the name relative to the generation directory.
struct FileEntry {
  int member = 0;
  std::string file;
  std::uint64_t bytes = 0;
  std::uint32_t crc32 = 0;  // zlib crc32 of the whole file
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
  double best_ever_fitness = kFitnessDiverged;
  int best_ever_member = -1;
  std::int64_t best_ever_generation = -1;
};

// Atomic like write_member_file. Use commit_generation (run_dir.hpp) to commit a generation.
void write_index(const std::string& path, const GenerationIndex& index);
GenerationIndex read_index(const std::string& path);

}  // namespace pbtnas::io
