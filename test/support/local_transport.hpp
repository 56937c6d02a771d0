#pragma once
// Transport for tests: every rank is a thread of one process, messages are queues in a shared
// hub. Sends copy their bytes at once (eager), so the protocol's "post all sends, then receive"
// order works as with MPI. Messages between one (source, destination, tag) keep their order.
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "pbtnas/core/transport.hpp"

namespace pbtnas::test {

class LocalHub {
 public:
  explicit LocalHub(int size) : size_(size) {}
  int size() const { return size_; }

  void push(int src, int dst, int tag, std::string bytes) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queues_[{src, dst, tag}].push_back(std::move(bytes));
    }
    cv_.notify_all();
  }
  // Like MPI_Abort for the whole job: every blocked or later receive throws.
  void abort() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      aborted_ = true;
    }
    cv_.notify_all();
  }
  // Blocks until a message for (dst, tag) from `src` (or any source) is queued.
  std::string pop(int src, int dst, int tag, int* from) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (aborted_) throw std::runtime_error("LocalHub: the job was aborted");
      for (int s = 0; s < size_; ++s) {
        if (src != kAnySource && s != src) continue;
        auto it = queues_.find({s, dst, tag});
        if (it != queues_.end() && !it->second.empty()) {
          std::string bytes = std::move(it->second.front());
          it->second.pop_front();
          if (from) *from = s;
          return bytes;
        }
      }
      cv_.wait(lock);
    }
  }
  void barrier() {
    std::unique_lock<std::mutex> lock(mu_);
    const long round = barrier_round_;
    if (++barrier_count_ == size_) {
      barrier_count_ = 0;
      ++barrier_round_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return barrier_round_ != round; });
  }

 private:
  int size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::tuple<int, int, int>, std::deque<std::string>> queues_;
  int barrier_count_ = 0;
  long barrier_round_ = 0;
  bool aborted_ = false;
};

class LocalTransport final : public Transport {
 public:
  LocalTransport(LocalHub& hub, int rank) : hub_(hub), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return hub_.size(); }
  void send(int dest, int tag, const std::string& bytes) override { hub_.push(rank_, dest, tag, bytes); }
  std::string recv(int source, int tag, int* from = nullptr) override { return hub_.pop(source, rank_, tag, from); }
  void post_send(int dest, int tag, const void* data, std::size_t bytes) override {
    hub_.push(rank_, dest, tag, std::string(static_cast<const char*>(data), bytes));
  }
  void post_recv(int source, int tag, void* data, std::size_t bytes) override {
    pending_.push_back({source, tag, data, bytes});
  }
  void wait_all() override {
    for (const auto& p : pending_) {
      const std::string bytes = hub_.pop(p.source, rank_, p.tag, nullptr);
      if (bytes.size() != p.bytes)
        throw std::runtime_error("LocalTransport: message of " + std::to_string(bytes.size()) +
                                 " bytes for a receive of " + std::to_string(p.bytes));
      if (!bytes.empty()) std::memcpy(p.data, bytes.data(), bytes.size());
    }
    pending_.clear();
  }
  void barrier() override { hub_.barrier(); }
  [[noreturn]] void abort(int code) override {
    hub_.abort();
    throw std::runtime_error("LocalTransport: abort(" + std::to_string(code) + ")");
  }

 private:
  struct Pending {
    int source, tag;
    void* data;
    std::size_t bytes;
  };
  LocalHub& hub_;
  int rank_;
  std::vector<Pending> pending_;
};

}  // namespace pbtnas::test
