#pragma once
// Reused byte blocks for exploit payloads. A payload's staging block (sender) and its receive
// block (receiver) are written once per transfer and dropped when the exchange ends; fresh
// memory for them costs a page fault per 4 KiB on first touch, which at a 1.85 MiB state is a
// larger cost than the copy itself (docs/performance.md, "Exchange"). A pooled block goes back to
// the pool when the last tensor over its storage dies, and the next payload of a similar size
// takes it, already mapped.
#include <cstdint>

#include <torch/torch.h>

namespace pbtnas {

struct BytePoolOptions {
  // Blocks idle in the pool, in bytes, beyond which a returned block is freed instead.
  TORCH_ARG(std::uint64_t, max_idle_bytes) = std::uint64_t{256} << 20;
  // Larger blocks bypass the pool (allocated and freed each time): their first-touch cost is
  // small next to their transfer, and a worker should not hold, say, a replay buffer's worth of
  // idle memory between generations.
  TORCH_ARG(std::uint64_t, max_block_bytes) = std::uint64_t{64} << 20;
  // A request of n bytes takes an idle block of at most this many times n bytes.
  TORCH_ARG(double, max_waste) = 2.0;
};

// A contiguous uint8 CPU tensor of `bytes` bytes (64-byte aligned, contents undefined) whose
// memory returns to the process-wide pool when its storage is freed. Thread-safe.
torch::Tensor pooled_bytes(std::uint64_t bytes);

struct BytePoolStats {
  std::uint64_t idle_blocks = 0, idle_bytes = 0;
  std::uint64_t reused = 0, allocated = 0;  // requests served from the pool / by a new block
};
BytePoolStats byte_pool_stats();
// Frees every idle block (tests; a long-lived process never needs it).
void byte_pool_release();

}  // namespace pbtnas
