#include "pbtnas/run/coordinator_on_disk.hpp"

#include "pbtnas/io/run_files.hpp"
#include "pbtnas/protocol/coordinator.hpp"

namespace pbtnas {

int run_coordinator_on_disk(Transport& transport, const RunConfig& cfg, const SearchSpace& space, const std::string& out,
                            Logger& log, const std::atomic<int>* stop_requested, RunPoints* points,
                            io::ConfigCheck check) {
  io::H5RunStore store(out, cfg, space, log, std::move(check));
  io::LogRunReport report(out, cfg, space, log);
  return run_coordinator(transport, cfg, space, store, report, stop_requested, points);
}

}  // namespace pbtnas
