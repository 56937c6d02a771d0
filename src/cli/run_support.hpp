#pragma once
// What `pbtnas run` and `pbtnas check` share that needs LibTorch: the device a rank uses.
#include <torch/torch.h>

#include "pbtnas/core/config.hpp"
#include "pbtnas/core/log.hpp"

namespace pbtnas::cli {

// runtime.device on this rank: cuda when asked for or available (the GPU of the local rank),
// else cpu. Throws when cuda is asked for and none is seen.
torch::Device choose_device(const RunConfig& cfg, int local_rank, Logger& log);

}  // namespace pbtnas::cli
