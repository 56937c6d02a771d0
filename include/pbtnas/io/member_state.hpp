#pragma once
// Internal to the checkpoint files of src/io (member_file.cpp, member_shard.cpp): the state codec
// and a member's body, written at a member file's root or into a shard's member group. Callers
// hold h5::library_mutex(); failures are h5::Failure (the public functions add the file's name).
#include <map>
#include <string>
#include <vector>

#include "pbtnas/index/h5_util.hpp"
#include "pbtnas/io/member_file.hpp"

namespace pbtnas::io::detail {

// Throws CheckpointError (naming `where`) for a member that cannot be written, before anything is.
void check_member(const MemberFile& m, const std::string& where);
// /tensor_names and /state (format 2) under `loc`; read_named_state also reads format 1.
void write_named_state(hid_t loc, const NamedState& state);
NamedState read_named_state(hid_t loc, int version, bool load_tensors);
// The group `state` (format 2: the table, /state/packed/<dtype>, /state/tensors/<name>) of
// `state` under `loc`, without /tensor_names.
void write_state(hid_t loc, const NamedState& state);
// Reads tensors of `loc`'s group `state` one at a time, by their row in the table (`names`: the
// tensors' names in table order, as /tensor_names lists them). The table is read and checked
// once; a packed dtype's dataset is read on first use and kept, so that reading some rows of a
// long table (a shard's members) reads each packed dataset once.
class StateReader {
 public:
  StateReader(hid_t loc, const std::vector<std::string>& names);
  ~StateReader();
  StateReader(const StateReader&) = delete;
  StateReader& operator=(const StateReader&) = delete;
  torch::Tensor tensor(std::size_t row);

 private:
  h5::Handle group_;
  std::vector<std::string> names_, dtypes_;
  std::vector<std::int64_t> shapes_, offsets_;
  std::vector<std::size_t> shape_start_;         // row i's dims: shapes_[shape_start_[i], shape_start_[i + 1])
  std::map<std::string, torch::Tensor> packed_;  // dtype name -> its whole packed dataset
};
// Every tensor of `loc`'s state table (format 2), and one tensor of a format-1 state.
std::vector<torch::Tensor> read_state(hid_t loc, const std::vector<std::string>& names);
torch::Tensor read_tensor_v1(hid_t loc, const std::string& name);
// The attributes member_id, generation, train_seed and the datasets genome, genome_options,
// fitness, tensor_names, state/..., evaluation/... under `loc`.
void write_member_body(hid_t loc, const MemberFile& m);
MemberFile read_member_body(hid_t loc, int version, bool load_tensors);

}  // namespace pbtnas::io::detail
