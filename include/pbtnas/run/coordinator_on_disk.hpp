#pragma once
// The wiring of a production run's rank 0: the coordinator (protocol layer) over a run directory
// on disk (io layer: H5RunStore + LogRunReport). It lives in the run layer, above both.
#include <atomic>
#include <string>

#include "pbtnas/core/config.hpp"
#include "pbtnas/core/log.hpp"
#include "pbtnas/core/search_space.hpp"
#include "pbtnas/core/transport.hpp"
#include "pbtnas/io/run_files.hpp"
#include "pbtnas/protocol/run_points.hpp"

namespace pbtnas {

// run_coordinator on the run directory `out`: H5RunStore (resuming only what `check` accepts) +
// LogRunReport.
int run_coordinator_on_disk(Transport& transport, const RunConfig& cfg, const SearchSpace& space,
                            const std::string& out, Logger& log,
                            const std::atomic<int>* stop_requested = nullptr, RunPoints* points = nullptr,
                            io::ConfigCheck check = {});

}  // namespace pbtnas
