#pragma once
// HDF5 checkpoint files (docs/checkpoint-format.md describes the layout attribute by attribute):
//   member_007.h5  one population member: genome, fitness history, training seed and its whole
//                  NamedState (network, averaged copy, optimizer state), bit-exact
//   index.h5       one generation: the coordinator's bookkeeping (records, lineage, history),
//                  the config text, and size + CRC-32 of every member file; writing it commits
//                  the generation (see run_dir.hpp)
// Every failure (missing file, not HDF5, truncated, wrong layout, unsupported dtype) is reported
// as CheckpointError naming the file, what is wrong and what to do; HDF5's own error printing is
// switched off.
#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "pbtnas/nn/named_state.hpp"
#include "pbtnas/population.hpp"
#include "pbtnas/search_space.hpp"

namespace pbtnas::io {

class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

constexpr int kCheckpointFormatVersion = 1;
constexpr const char* kMemberFormat = "pbtnas-member";
constexpr const char* kIndexFormat = "pbtnas-index";

// ---- member file -------------------------------------------------------------------------------

struct MemberFile {
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

// Writes atomically (PATH.tmp, fsync, rename, fsync of the directory; parent directories are
// created). Tensors may live on any device; they are stored as contiguous CPU data. Supported
// dtypes: float32/64, float16, bfloat16, int8/16/32/64, uint8, bool. Tensor names must be
// non-empty dotted names without '/' or empty components, and no name may be a dotted prefix of
// another (they become HDF5 paths /state/a/b/c).
void write_member_file(const std::string& path, const MemberFile& member);

// Reads back bit-identically (same order, dtypes, shapes; CPU tensors). With load_tensors false,
// `state` lists every tensor name with an undefined tensor (cheap: no tensor data is read).
MemberFile read_member_file(const std::string& path, bool load_tensors = true);

// ---- generation index --------------------------------------------------------------------------

// One member file of a generation: `file` is the name relative to the generation directory.
struct FileEntry {
  int member = 0;
  std::string file;
  std::uint64_t bytes = 0;
  std::uint32_t crc32 = 0;  // zlib crc32 of the whole file
};

struct GenerationIndex {
  int format_version = kCheckpointFormatVersion;
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

// ---- inspection --------------------------------------------------------------------------------

// Human-readable summary (fits 100 columns). On an index.h5: header, verification status,
// population table, the best member's lineage and the tensors of its file (read from the member
// file next to the index). On a member file: header and per-tensor listing. Throws
// CheckpointError on anything else.
void inspect(const std::string& path, std::ostream& out);

// "float32", "int64", ... as stored in the `dtype` attribute; throws CheckpointError for dtypes
// that checkpoints do not support.
std::string dtype_name(torch::ScalarType type);

}  // namespace pbtnas::io
