#pragma once
// Rank 0's wait for the workers in one step of a generation: which workers owe it messages, and
// when each was last heard from. A worker that owes something and stays silent for the worker
// timeout (runtime.worker_timeout) ends the wait with WorkerTimeout, whose message says who.
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "pbtnas/core/messages.hpp"
#include "pbtnas/core/transport.hpp"
#include "pbtnas/protocol/coordinator.hpp"  // WorkerTimeout
#include "pbtnas/util/clock.hpp"

namespace pbtnas {

class WorkerWatch {
 public:
  // `limit`: seconds of silence allowed (< 0: wait for ever); `explain`: the message for the
  // ranks that stayed silent that long.
  WorkerWatch(Transport& t, double limit, std::function<std::string(const std::vector<int>& silent)> explain)
      : t_(t), owed_(static_cast<std::size_t>(t.size()), 0), heard_(static_cast<std::size_t>(t.size()), Clock::now()),
        limit_(limit), explain_(std::move(explain)) {}

  void owes(int rank, int n) { owed_.at(static_cast<std::size_t>(rank)) += n; }
  void paid(int rank) { --owed_.at(static_cast<std::size_t>(rank)); }

  // The next message of type M from any rank; *from = its rank.
  template <class M>
  M receive(int* from) {
    for (;;) {
      int src = 0;
      if (auto m = receive_message_for<M>(t_, next_wait(), kAnySource, &src)) {
        heard_.at(static_cast<std::size_t>(src)) = Clock::now();
        *from = src;
        return std::move(*m);
      }
      throw_if_silent();
    }
  }

 private:
  // Seconds until the first owing worker's silence reaches the limit (-1: no limit).
  double next_wait() const {
    if (limit_ < 0.0) return -1.0;
    double wait = limit_;
    for (std::size_t r = 1; r < owed_.size(); ++r)
      if (owed_[r] > 0) wait = std::min(wait, std::max(0.0, limit_ - since(heard_[r])));
    return wait;
  }
  void throw_if_silent() const {
    std::vector<int> silent;
    for (std::size_t r = 1; r < owed_.size(); ++r)
      if (owed_[r] > 0 && since(heard_[r]) >= limit_) silent.push_back(static_cast<int>(r));
    if (!silent.empty()) throw WorkerTimeout(explain_(silent));
  }

  Transport& t_;
  std::vector<int> owed_;
  std::vector<Clock::time_point> heard_;
  double limit_;
  std::function<std::string(const std::vector<int>&)> explain_;
};

}  // namespace pbtnas
