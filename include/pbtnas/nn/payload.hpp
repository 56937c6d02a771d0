#pragma once
// The payload codec of an exploit transfer (and of a member move). One NamedState travels as
//   head:    PayloadHeader + manifest (names, dtypes, shapes, in the binary form of
//            docs/architecture.md, "Transfers"), one small message, the manifest protected by a
//            CRC-32;
//   direct:  every tensor of header.direct_min bytes or more sent from its own storage, one
//            message each, in manifest order;
//   inline:  the smaller tensors copied into one block, each 64-byte aligned (omitted when there
//            are none), one message, after the direct ones;
// so the only bytes copied on the sender are those of the small tensors, where one message per
// tensor would cost more than the copy. The receiver reads the head, checks it, takes one pooled
// block (nn/byte_pool.hpp) holding the inline part and then every direct tensor in its final
// shape and dtype, and receives into it: the received state's tensors are views into that block
// (no copy on arrival).
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "pbtnas/nn/named_state.hpp"

namespace pbtnas {

constexpr std::size_t kPayloadAlign = 64;
// Tensors of at least this many bytes travel from their own storage (measured with
// bench-exchange: below it one message costs more than copying the tensor into the inline block).
constexpr std::uint64_t kPayloadDirectMin = 64 * 1024;
// "PBT2": payload format 2 (the manifest in its own binary form). Format 1 ("PBTX") carried a
// Boost-serialized manifest; a receiver names it when an older build sends one.
constexpr std::uint32_t kPayloadMagic = 0x32544250;
constexpr std::uint32_t kPayloadMagicV1 = 0x58544250;

struct PayloadHeader {
  std::uint32_t magic = kPayloadMagic;
  std::uint32_t manifest_crc32 = 0;  // zlib crc32 of the manifest's bytes
  std::uint64_t manifest_bytes = 0;
  std::uint64_t inline_bytes = 0;  // size of the inline block (0: no inline message)
  std::uint64_t direct_min = kPayloadDirectMin;
};
static_assert(sizeof(PayloadHeader) == 32, "the header travels as 32 raw bytes");

// The sender's side: what to post, in this order, on one tag: every tensor of `direct` from its
// data_ptr() (they need no preparation, so they can leave with the head), then `inline_block`
// (when it has bytes; after pack_inline when built by encode_head). The tensors are contiguous CPU tensors (the
// state's own where they already are, copies otherwise) and must stay alive until the sends
// complete.
struct OutgoingPayload {
  std::string head;
  torch::Tensor inline_block;  // uint8; undefined when no tensor is inline
  std::vector<torch::Tensor> direct;
  std::vector<torch::Tensor> small;  // the inline tensors until pack_inline has copied them
  std::uint64_t tensor_bytes = 0;  // all tensors' bytes (inline padding not counted)
  std::uint64_t message_bytes() const;  // what travels: head + inline block + direct tensors
};
OutgoingPayload encode_payload(const NamedState& state);
// encode_payload in two steps, so that the head can travel while the inline block is filled:
// encode_head builds the head and takes the (pooled) inline block without filling it;
// pack_inline copies the small tensors into it. Post the inline block only after pack_inline.
OutgoingPayload encode_head(const NamedState& state);
void pack_inline(OutgoingPayload& out);

// The size of the whole head announced by its first sizeof(PayloadHeader) bytes (the transport
// may deliver a head in several chunks: receive until this many bytes have arrived). Throws
// std::runtime_error naming `what` when the bytes are no payload header.
std::uint64_t payload_head_bytes(const std::string& head_start, const std::string& what);

// The receiver's side. `what` names the payload in every error ("member 3, full state for slot
// 5"). The constructor checks the head (size, magic, the manifest's CRC and decoding, sizes and
// dtypes) and allocates the inline block and the direct tensors; receive into them in the order
// the sender posts (every direct tensor, then the inline block), then finish() returns the state. Throws std::runtime_error naming the
// payload and, where one is at fault, the tensor.
class IncomingPayload {
 public:
  IncomingPayload(const std::string& head, std::string what);
  torch::Tensor inline_block;  // uint8; undefined when no tensor is inline
  std::vector<torch::Tensor> direct;
  std::uint64_t message_bytes() const;
  NamedState finish() const;

 private:
  struct Slot {
    std::string name;
    bool is_inline = false;
    std::size_t index = 0;  // offset into the inline block, or index into `direct`
    torch::ScalarType dtype = torch::kFloat;
    c10::SmallVector<std::int64_t, 5> shape;
  };
  std::vector<Slot> slots_;
  std::uint64_t head_bytes_ = 0;
  std::string what_;
};

}  // namespace pbtnas
