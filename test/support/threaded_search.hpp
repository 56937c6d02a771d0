#pragma once
// A whole search with its ranks as threads of this process: rank 0 runs the coordinator on a
// run directory (H5RunStore + LogRunReport), ranks 1..R-1 run `worker(transport, log)`.
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "pbtnas/run/coordinator_on_disk.hpp"
#include "support/local_transport.hpp"

namespace pbtnas::test {

// Returns the coordinator's exit code; every rank must return the same one. The ranks' log lines
// go to `log` when given.
inline int run_ranks_as_threads(const RunConfig& cfg, const SearchSpace& space, const std::string& out, int ranks,
                                const std::function<int(Transport&, Logger&)>& worker,
                                std::ostringstream* log = nullptr) {
  LocalHub hub(ranks);
  std::ostringstream sink;
  std::vector<int> codes(static_cast<std::size_t>(ranks), -1);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      LocalTransport t(hub, r);
      Logger log(r, sink, sink);
      codes[static_cast<std::size_t>(r)] = r == 0 ? run_coordinator_on_disk(t, cfg, space, out, log) : worker(t, log);
    });
  for (auto& th : threads) th.join();
  if (log) *log << sink.str();
  for (int c : codes) CHECK(c == codes[0]);
  return codes[0];
}

}  // namespace pbtnas::test
