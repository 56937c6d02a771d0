#pragma once
// `pbtnas inspect`: a checkpoint file described for people.
#include <ostream>
#include <string>

#include <torch/torch.h>

#include "pbtnas/index/checkpoint.hpp"

namespace pbtnas::io {

// Human-readable summary (fits 100 columns). On an index.h5: header, verification status,
// population table, the best member's lineage and the tensors of its file (read from the member
// file next to the index). On a member file: header and per-tensor listing. Throws
// CheckpointError on anything else.
void inspect(const std::string& path, std::ostream& out);

// "float32", "int64", ... as stored in the `dtype` attribute; throws CheckpointError for dtypes
// that checkpoints do not support.
std::string dtype_name(torch::ScalarType type);

}  // namespace pbtnas::io
