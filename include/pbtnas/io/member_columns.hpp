#pragma once
// Internal to src/io: a shard's members column by column (shard format version 2,
// docs/checkpoint-format.md, "Shard file"). Instead of a group of a dozen HDF5 objects per member,
// the shard holds one dataset per column for all its members (ids, seeds, genomes, fitness, tensor
// names, evaluations, each flat with its rows' start offsets) and one state table for all their
// tensors, so that HDF5's cost per object no longer grows with the number of members. Callers
// hold h5::library_mutex(); failures are h5::Failure.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pbtnas/index/h5_util.hpp"
#include "pbtnas/io/member_file.hpp"
#include "pbtnas/io/member_state.hpp"

namespace pbtnas::io::detail {

// Writes `members` as columns at `file`'s root (the caller writes the root's attributes).
void write_shard_columns(hid_t file, const std::vector<MemberFile>& members);

// A version-2 shard's columns, read and checked once per open file; members are then read by
// their group name (member_007) without touching the others' tensors.
class ShardColumns {
 public:
  explicit ShardColumns(hid_t file);
  ~ShardColumns();
  ShardColumns(const ShardColumns&) = delete;
  ShardColumns& operator=(const ShardColumns&) = delete;
  // The member whose group name is `group`; Failure when the shard does not hold it.
  MemberFile read(const std::string& group, bool load_tensors);

 private:
  hid_t file_;
  std::vector<std::int64_t> ids_, generations_, genome_, genome_starts_, options_starts_, fitness_starts_,
      tensor_starts_, evaluation_starts_;
  std::vector<std::uint64_t> seeds_;
  std::vector<std::string> options_, names_, evaluation_names_;
  std::vector<double> fitness_, evaluation_values_;
  std::map<std::string, std::size_t> row_of_group_;
  std::unique_ptr<StateReader> state_;  // on the first read with tensors
};

}  // namespace pbtnas::io::detail
