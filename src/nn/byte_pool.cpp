#include "pbtnas/nn/byte_pool.hpp"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>

namespace pbtnas {
namespace {

constexpr std::size_t kAlign = 64;

class BytePool {
 public:
  explicit BytePool(BytePoolOptions o) : options_(o) {}

  // A block of at least `bytes` (its capacity in `capacity`).
  void* take(std::uint64_t bytes, std::uint64_t& capacity) {
    if (bytes <= options_.max_block_bytes()) {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto it = idle_.lower_bound(bytes);
      if (it != idle_.end() && static_cast<double>(it->first) <= options_.max_waste() * static_cast<double>(bytes)) {
        capacity = it->first;
        void* p = it->second;
        idle_.erase(it);
        stats_.idle_bytes -= capacity;
        --stats_.idle_blocks;
        ++stats_.reused;
        return p;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.allocated;
    }
    capacity = (bytes + kAlign - 1) / kAlign * kAlign;
    if (capacity == 0) capacity = kAlign;
    void* p = std::aligned_alloc(kAlign, capacity);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }

  void give_back(void* p, std::uint64_t capacity) {
    if (capacity <= options_.max_block_bytes()) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stats_.idle_bytes + capacity <= options_.max_idle_bytes()) {
        idle_.emplace(capacity, p);
        stats_.idle_bytes += capacity;
        ++stats_.idle_blocks;
        return;
      }
    }
    std::free(p);
  }

  BytePoolStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  void release() {
    std::multimap<std::uint64_t, void*> idle;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      idle.swap(idle_);
      stats_.idle_bytes = 0;
      stats_.idle_blocks = 0;
    }
    for (auto& [capacity, p] : idle) std::free(p);
  }

 private:
  BytePoolOptions options_;
  std::mutex mutex_;
  std::multimap<std::uint64_t, void*> idle_;  // by capacity
  BytePoolStats stats_;
};

// Never destroyed: a tensor may outlive static destruction and return its block then.
BytePool& pool() {
  static BytePool* p = new BytePool(BytePoolOptions{});
  return *p;
}

}  // namespace

torch::Tensor pooled_bytes(std::uint64_t bytes) {
  std::uint64_t capacity = 0;
  void* p = pool().take(bytes, capacity);
  return torch::from_blob(
      p, {static_cast<std::int64_t>(bytes)}, [capacity](void* data) { pool().give_back(data, capacity); },
      torch::TensorOptions().dtype(torch::kUInt8));
}

BytePoolStats byte_pool_stats() { return pool().stats(); }

void byte_pool_release() { pool().release(); }

}  // namespace pbtnas
