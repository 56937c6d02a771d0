#pragma once
// `pbtnas inspect`: a checkpoint file described for people.
#include <ostream>
#include <string>

#include <torch/torch.h>

#include "pbtnas/index/checkpoint.hpp"

namespace pbtnas::io {

// Human-readable summary (fits 100 columns, but for whole tensor names). On an index.h5: header,
// verification status, population table (architectures as gene=option), the best member's
// lineage and a summary of the tensors of its file (read from the member file next to the index).
// On a shard (shard_NNN.h5): its members, one line each. A member of a format-3 generation is
// inspected by its member-file name (gen_NNNNNN/member_NNN.h5, read from its shard).
// On a member file: header (gene names from its generation's or run's index when found) and the
// tensors by group. `tensors`: every tensor with its whole name, dtype, shape and statistics.
// Throws CheckpointError on anything else.
void inspect(const std::string& path, std::ostream& out, bool tensors = false);

// The shard part of inspect (inspect_shard.cpp).
void inspect_shard(const std::string& path, std::ostream& out);

// "float32", "int64", ... as stored in the `dtype` attribute; throws CheckpointError for dtypes
// that checkpoints do not support.
std::string dtype_name(torch::ScalarType type);

}  // namespace pbtnas::io
