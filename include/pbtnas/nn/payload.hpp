#pragma once
// The payload codec of an exploit transfer: one NamedState packed into one contiguous byte buffer
//   [TensorManifest (Boost.Serialization)][pad][tensor 0][pad][tensor 1]...
// with every tensor 64-byte aligned, so that the receiver's tensors are views into the buffer it
// received into (no copy on arrival). A 16-byte PayloadHeader announces the sizes.
#include <cstdint>

#include <torch/torch.h>

#include "pbtnas/nn/named_state.hpp"

namespace pbtnas {

constexpr std::size_t kPayloadAlign = 64;

struct PayloadHeader {
  std::uint64_t manifest_bytes = 0;
  std::uint64_t total_bytes = 0;
};
static_assert(sizeof(PayloadHeader) == 16, "the header travels as 16 raw bytes");

// A uint8 CPU tensor of header.total_bytes bytes holding `state` (any devices; copied to host).
torch::Tensor pack_payload(const NamedState& state, PayloadHeader& header);

// The tensors of a packed buffer, in packing order, as views that keep `buffer` alive. Throws
// std::runtime_error when the buffer's size differs from the header's, when the manifest does
// not decode, or when the tensors it announces do not fit into the buffer (checked before any
// view is made).
NamedState unpack_payload(const torch::Tensor& buffer, const PayloadHeader& header);

}  // namespace pbtnas
