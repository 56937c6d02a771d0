#pragma once
// Internal to the checkpoint files of src/io (member_file.cpp, member_shard.cpp): the state codec
// and a member's body, written at a member file's root or into a shard's member group. Callers
// hold h5::library_mutex(); failures are h5::Failure (the public functions add the file's name).
#include <string>

#include "pbtnas/index/h5_util.hpp"
#include "pbtnas/io/member_file.hpp"

namespace pbtnas::io::detail {

// Throws CheckpointError (naming `where`) for a member that cannot be written, before anything is.
void check_member(const MemberFile& m, const std::string& where);
// /tensor_names and /state (format 2) under `loc`; read_named_state also reads format 1.
void write_named_state(hid_t loc, const NamedState& state);
NamedState read_named_state(hid_t loc, int version, bool load_tensors);
// The attributes member_id, generation, train_seed and the datasets genome, genome_options,
// fitness, tensor_names, state/..., evaluation/... under `loc`.
void write_member_body(hid_t loc, const MemberFile& m);
MemberFile read_member_body(hid_t loc, int version, bool load_tensors);

}  // namespace pbtnas::io::detail
