#include "pbtnas/protocol/worker_watch.hpp"

#include <algorithm>

namespace pbtnas {

std::string describe_ready_workers(const std::vector<ReadyWorker>& workers) {
  std::vector<ReadyWorker> sorted = workers;
  std::sort(sorted.begin(), sorted.end(), [](const ReadyWorker& a, const ReadyWorker& b) { return a.rank < b.rank; });
  std::vector<std::string> hosts;  // in order of their first rank
  for (const auto& w : sorted)
    if (std::find(hosts.begin(), hosts.end(), w.host) == hosts.end()) hosts.push_back(w.host);
  auto join_unique = [](const std::vector<std::string>& items) {
    std::vector<std::string> seen;
    for (const auto& x : items)
      if (std::find(seen.begin(), seen.end(), x) == seen.end()) seen.push_back(x);
    std::string out;
    for (const auto& x : seen) out += (out.empty() ? "" : ", ") + x;
    return out;
  };
  std::string out = std::to_string(sorted.size()) + " on " + std::to_string(hosts.size()) +
                    (hosts.size() == 1 ? " host: " : " hosts: ");
  for (std::size_t h = 0; h < hosts.size(); ++h) {
    std::vector<int> ranks;
    std::vector<std::string> devices;
    int lo = 0, hi = 0;
    for (const auto& w : sorted) {
      if (w.host != hosts[h]) continue;
      ranks.push_back(w.rank);
      devices.push_back(w.device);
      lo = lo == 0 ? w.threads : std::min(lo, w.threads);
      hi = std::max(hi, w.threads);
    }
    std::string rank_text;
    for (std::size_t i = 0; i < ranks.size();) {
      std::size_t j = i;
      while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
      rank_text += (rank_text.empty() ? "" : ",") + std::to_string(ranks[i]) +
                   (j > i ? "-" + std::to_string(ranks[j]) : "");
      i = j + 1;
    }
    const std::string threads = lo == hi ? std::to_string(lo) + (lo == 1 ? " thread" : " threads")
                                         : std::to_string(lo) + "-" + std::to_string(hi) + " threads";
    out += (h ? ", " : "") + (hosts[h].empty() ? std::string("?") : hosts[h]) +
           (ranks.size() == 1 ? " rank " : " ranks ") + rank_text + " (" + join_unique(devices) + " x " +
           threads + ")";
  }
  return out;
}

}  // namespace pbtnas
