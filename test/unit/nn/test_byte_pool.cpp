// The byte pool behind exploit payloads and the dispatcher-free tensor views over a block:
// blocks come back when their last tensor dies and are handed out again to requests of a
// similar size; views have the dtype, shape, offset and storage they are asked for, and
// requests that do not fit the block are refused.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>

#include "pbtnas/nn/byte_pool.hpp"
#include "pbtnas/nn/named_state.hpp"

using namespace pbtnas;

TEST_CASE("byte pool: a freed block is reused by a request of similar size, not by a much smaller one") {
  byte_pool_release();
  const BytePoolStats s0 = byte_pool_stats();
  void* first = nullptr;
  {
    const torch::Tensor a = pooled_bytes(100000);
    first = a.data_ptr();
    CHECK(a.numel() == 100000);
    CHECK(a.scalar_type() == torch::kUInt8);
    CHECK(reinterpret_cast<std::uintptr_t>(first) % 64 == 0);
    // A view keeps the block out of the pool after the first tensor is gone.
    const torch::Tensor view = storage_view(a, 64, torch::kFloat, {10});
    (void)view;
  }
  CHECK(byte_pool_stats().idle_blocks == s0.idle_blocks + 1);
  {
    const torch::Tensor b = pooled_bytes(90000);  // within 2x: the same block
    CHECK(b.data_ptr() == first);
    CHECK(byte_pool_stats().reused == s0.reused + 1);
    const torch::Tensor c = pooled_bytes(100000);  // the block is taken: a new one
    CHECK(c.data_ptr() != first);
  }
  CHECK(byte_pool_stats().idle_blocks == s0.idle_blocks + 2);
  {
    const std::uint64_t allocated = byte_pool_stats().allocated;
    const torch::Tensor small = pooled_bytes(1000);  // both idle blocks are over 2x too large
    CHECK(byte_pool_stats().allocated == allocated + 1);
  }
  byte_pool_release();
  CHECK(byte_pool_stats().idle_blocks == 0);
  CHECK(byte_pool_stats().idle_bytes == 0);
}

TEST_CASE("byte pool: blocks above the largest pooled size are freed, not kept idle") {
  byte_pool_release();
  const std::uint64_t big = BytePoolOptions{}.max_block_bytes() + 4096;
  const std::uint64_t allocated = byte_pool_stats().allocated;
  { const torch::Tensor t = pooled_bytes(big); }  // pages never touched: nothing is committed
  CHECK(byte_pool_stats().idle_blocks == 0);
  { const torch::Tensor t = pooled_bytes(big); }
  CHECK(byte_pool_stats().allocated == allocated + 2);
}

TEST_CASE("storage_view: dtype, shape and offset over a block's bytes, sharing its storage") {
  const torch::Tensor block = torch::zeros({256}, torch::kUInt8);
  const std::int64_t values[3] = {7, -2, 40};
  std::memcpy(static_cast<char*>(block.data_ptr()) + 64, values, sizeof values);
  const torch::Tensor v = storage_view(block, 64, torch::kLong, {3});
  CHECK(v.scalar_type() == torch::kLong);
  CHECK(v.sizes() == torch::IntArrayRef({3}));
  CHECK(v.is_contiguous());
  CHECK(v.data_ptr() == static_cast<char*>(block.data_ptr()) + 64);
  CHECK(v[2].item<std::int64_t>() == 40);
  CHECK_FALSE(v.requires_grad());
  const torch::Tensor scalar = storage_view(block, 72, torch::kLong, {});
  CHECK(scalar.dim() == 0);
  CHECK(scalar.item<std::int64_t>() == -2);
  // Writing through the view writes the block.
  torch::Tensor w = storage_view(block, 0, torch::kFloat, {2, 2});
  w.fill_(1.5f);
  float f = 0;
  std::memcpy(&f, static_cast<char*>(block.data_ptr()) + 12, sizeof f);
  CHECK(f == 1.5f);
  // The block's own offset into its storage is honoured.
  const torch::Tensor tail = block.narrow(0, 64, 192);
  CHECK(storage_view(tail, 8, torch::kLong, {}).item<std::int64_t>() == -2);
  // The view keeps the storage alive.
  torch::Tensor kept;
  {
    torch::Tensor tmp = torch::full({4}, 3.0, torch::kDouble);
    kept = storage_view(tmp, 8, torch::kDouble, {2});
  }
  CHECK(kept.sum().item<double>() == 6.0);
}

TEST_CASE("storage_view: refuses views that leave the block or are misaligned") {
  const torch::Tensor block = torch::zeros({64}, torch::kUInt8);
  CHECK_THROWS_WITH(storage_view(block, 0, torch::kFloat, {17}), Catch::Contains("do not fit the 64-byte block"));
  CHECK_THROWS_WITH(storage_view(block, 80, torch::kUInt8, {}), Catch::Contains("do not fit"));
  CHECK_THROWS_WITH(storage_view(block, 2, torch::kFloat, {1}), Catch::Contains("aligned"));
  CHECK_THROWS_WITH(storage_view(block, 0, torch::kFloat, {-1}), Catch::Contains("negative"));
  CHECK_THROWS_WITH(storage_view(torch::zeros({4, 4}).t(), 0, torch::kFloat, {1}), Catch::Contains("contiguous"));
}
