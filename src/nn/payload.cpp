#include "pbtnas/nn/payload.hpp"

#include <zlib.h>

#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "pbtnas/nn/byte_pool.hpp"

namespace pbtnas {
namespace {

std::uint64_t align_up(std::uint64_t n) { return (n + kPayloadAlign - 1) / kPayloadAlign * kPayloadAlign; }

std::uint32_t crc_of(const char* data, std::size_t n) {
  return static_cast<std::uint32_t>(crc32_z(crc32_z(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(data), n));
}

[[noreturn]] void fail(const std::string& what, const std::string& why) {
  throw std::runtime_error("exploit payload (" + what + "): " + why);
}

void check_magic(std::uint32_t magic, const std::string& what) {
  if (magic == kPayloadMagicV1)
    fail(what, "the sender is an older pbtnas build (payload format 1); run the same build on every rank");
  if (magic != kPayloadMagic) fail(what, "the head does not start with the payload magic (another message on this tag?)");
}

std::uint64_t nbytes(const torch::Tensor& t) {
  return static_cast<std::uint64_t>(t.numel()) * static_cast<std::uint64_t>(t.element_size());
}

// The manifest's wire form (docs/architecture.md, "Transfers"): a u64 tensor count, then
// per tensor a u32 name length, the name's bytes, a u8 dtype code, a u8 rank and rank i64
// extents; host byte order, like the header. Written and read in one pass each, without Boost's
// per-item archive calls: a member's head is on the exploit's critical path on both sides.
template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

class ManifestReader {
 public:
  ManifestReader(const char* p, std::uint64_t n, const std::string& what) : p_(p), end_(p + n), what_(what) {}
  template <class T>
  T get(std::uint64_t entry) {
    T v;
    need(sizeof v, entry);
    std::memcpy(&v, p_, sizeof v);
    p_ += sizeof v;
    return v;
  }
  std::string bytes(std::uint64_t n, std::uint64_t entry) {
    need(n, entry);
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  bool at_end() const { return p_ == end_; }

 private:
  void need(std::uint64_t n, std::uint64_t entry) {
    if (n > static_cast<std::uint64_t>(end_ - p_))
      fail(what_, "the manifest does not decode (it ends inside entry " + std::to_string(entry) + ")");
  }
  const char* p_;
  const char* end_;
  const std::string& what_;
};

}  // namespace

std::uint64_t OutgoingPayload::message_bytes() const {
  std::uint64_t n = head.size();
  if (inline_block.defined()) n += nbytes(inline_block);
  for (const auto& t : direct) n += nbytes(t);
  return n;
}

OutgoingPayload encode_head(const NamedState& state) {
  OutgoingPayload out;
  std::string& head = out.head;
  head.reserve(sizeof(PayloadHeader) + 8 + state.size() * 64);
  head.resize(sizeof(PayloadHeader));
  put<std::uint64_t>(head, state.size());
  std::uint64_t inline_bytes = 0;
  for (const auto& nt : state) {
    // No copy for a contiguous CPU tensor (the usual case: exports are contiguous CPU tensors),
    // and no dispatched call either.
    const torch::Tensor t = nt.tensor.device().is_cpu() && nt.tensor.is_contiguous()
                                ? nt.tensor
                                : nt.tensor.to(torch::kCPU).contiguous();
    if (nt.name.size() > std::numeric_limits<std::uint32_t>::max() || t.dim() > 255)
      throw std::invalid_argument("encode_payload: tensor '" + nt.name.substr(0, 80) +
                                  "' has a name over 4 GiB or more than 255 dimensions");
    put<std::uint32_t>(head, static_cast<std::uint32_t>(nt.name.size()));
    head += nt.name;
    put<std::uint8_t>(head, static_cast<std::uint8_t>(t.scalar_type()));
    put<std::uint8_t>(head, static_cast<std::uint8_t>(t.dim()));
    for (const std::int64_t d : t.sizes()) put<std::int64_t>(head, d);
    const std::uint64_t n = nbytes(t);
    out.tensor_bytes += n;
    if (n < kPayloadDirectMin) {
      inline_bytes += align_up(n);
      out.small.push_back(t);
    } else {
      out.direct.push_back(t);
    }
  }
  if (inline_bytes > 0) out.inline_block = pooled_bytes(inline_bytes);
  PayloadHeader h;
  h.manifest_bytes = head.size() - sizeof h;
  h.manifest_crc32 = crc_of(head.data() + sizeof h, h.manifest_bytes);
  h.inline_bytes = inline_bytes;
  std::memcpy(head.data(), &h, sizeof h);
  return out;
}

void pack_inline(OutgoingPayload& out) {
  if (!out.inline_block.defined()) return;
  auto* base = static_cast<char*>(out.inline_block.data_ptr());
  std::uint64_t offset = 0;
  for (const auto& t : out.small) {
    const std::uint64_t n = nbytes(t);
    if (n) std::memcpy(base + offset, t.data_ptr(), n);
    const std::uint64_t padded = align_up(n);
    if (padded > n) std::memset(base + offset + n, 0, padded - n);
    offset += padded;
  }
  out.small.clear();
}

OutgoingPayload encode_payload(const NamedState& state) {
  OutgoingPayload out = encode_head(state);
  pack_inline(out);
  return out;
}

std::uint64_t payload_head_bytes(const std::string& head_start, const std::string& what) {
  if (head_start.size() < sizeof(PayloadHeader))
    fail(what, "the head has " + std::to_string(head_start.size()) + " bytes, fewer than its " +
                   std::to_string(sizeof(PayloadHeader)) + "-byte header");
  PayloadHeader h;
  std::memcpy(&h, head_start.data(), sizeof h);
  check_magic(h.magic, what);
  constexpr std::uint64_t kMaxManifest = std::uint64_t{1} << 30;
  if (h.manifest_bytes > kMaxManifest)
    fail(what, "the header announces an implausible " + std::to_string(h.manifest_bytes) + "-byte manifest");
  return sizeof h + h.manifest_bytes;
}

IncomingPayload::IncomingPayload(const std::string& head, std::string what) : what_(std::move(what)) {
  auto bad = [this](const std::string& why) { fail(what_, why); };
  head_bytes_ = head.size();
  if (head.size() < sizeof(PayloadHeader))
    bad("the head has " + std::to_string(head.size()) + " bytes, fewer than its " +
        std::to_string(sizeof(PayloadHeader)) + "-byte header");
  PayloadHeader h;
  std::memcpy(&h, head.data(), sizeof h);
  check_magic(h.magic, what_);
  if (h.manifest_bytes != head.size() - sizeof h)
    bad("the header announces a " + std::to_string(h.manifest_bytes) + "-byte manifest but " +
        std::to_string(head.size() - sizeof h) + " bytes follow it");
  const char* mbytes = head.data() + sizeof h;
  if (crc_of(mbytes, h.manifest_bytes) != h.manifest_crc32) bad("the manifest's CRC-32 does not match (damaged in transit)");
  if (h.direct_min != kPayloadDirectMin)
    bad("the sender sends tensors of " + std::to_string(h.direct_min) + " bytes and more directly, this build " +
        std::to_string(kPayloadDirectMin) + " (mixed pbtnas builds in one job?)");
  ManifestReader reader(mbytes, h.manifest_bytes, what_);
  const auto count = reader.get<std::uint64_t>(0);
  // Each entry takes at least 6 bytes: a count beyond that is damage, not a reason to reserve.
  if (count > h.manifest_bytes / 6) bad("the manifest announces " + std::to_string(count) + " tensors in " +
                                        std::to_string(h.manifest_bytes) + " bytes");
  slots_.reserve(count);
  // One pooled block holds everything received: the inline block first, then every direct
  // tensor at a 64-byte aligned offset (so arrival fills memory that is already mapped).
  std::uint64_t offset = 0, direct_end = align_up(h.inline_bytes);
  std::vector<std::uint64_t> direct_offsets;
  for (std::uint64_t i = 0; i < count; ++i) {
    Slot s;
    s.name = reader.bytes(reader.get<std::uint32_t>(i), i);
    const int code = reader.get<std::uint8_t>(i);
    if (code >= static_cast<int>(torch::ScalarType::NumOptions) || code == static_cast<int>(torch::ScalarType::Undefined))
      bad("tensor '" + s.name + "' has an unknown dtype code " + std::to_string(code));
    s.dtype = static_cast<torch::ScalarType>(code);
    const int rank = reader.get<std::uint8_t>(i);
    std::uint64_t n = c10::elementSize(s.dtype);
    for (int k = 0; k < rank; ++k) {
      const auto d = reader.get<std::int64_t>(i);
      if (d < 0) bad("tensor '" + s.name + "' has a negative extent");
      if (d > 0 && n > std::numeric_limits<std::uint64_t>::max() / 4 / static_cast<std::uint64_t>(d))
        bad("tensor '" + s.name + "' has an impossible size");
      n *= static_cast<std::uint64_t>(d);
      s.shape.push_back(d);
    }
    s.is_inline = n < h.direct_min;
    if (s.is_inline) {
      s.index = offset;
      offset += align_up(n);
      if (offset > h.inline_bytes)
        bad("tensor '" + s.name + "' (" + std::to_string(n) + " bytes) does not fit into the " +
            std::to_string(h.inline_bytes) + "-byte inline block: it is shorter than its manifest");
    } else {
      s.index = direct_offsets.size();
      direct_offsets.push_back(direct_end);
      if (n > std::numeric_limits<std::uint64_t>::max() / 2 - direct_end) bad("tensor '" + s.name + "' has an impossible size");
      direct_end += align_up(n);
    }
    slots_.push_back(std::move(s));
  }
  if (!reader.at_end()) bad("the manifest has bytes after its last tensor");
  if (offset != h.inline_bytes)
    bad("the inline block has " + std::to_string(h.inline_bytes) + " bytes but its tensors take " +
        std::to_string(offset));
  if (direct_end == 0) return;
  const torch::Tensor block = pooled_bytes(direct_end);
  if (h.inline_bytes > 0) inline_block = storage_view(block, 0, torch::kUInt8, {static_cast<std::int64_t>(h.inline_bytes)});
  direct.reserve(direct_offsets.size());
  for (const Slot& s : slots_)
    if (!s.is_inline) direct.push_back(storage_view(block, direct_offsets[s.index], s.dtype, s.shape));
}

std::uint64_t IncomingPayload::message_bytes() const {
  std::uint64_t n = head_bytes_;
  if (inline_block.defined()) n += nbytes(inline_block);
  for (const auto& t : direct) n += nbytes(t);
  return n;
}

NamedState IncomingPayload::finish() const {
  NamedState out;
  out.reserve(slots_.size());
  for (const Slot& s : slots_) {
    if (!s.is_inline) {
      out.push_back({s.name, direct[s.index]});
      continue;
    }
    if (!inline_block.defined()) {  // only empty tensors are inline
      out.push_back({s.name, torch::empty(s.shape, torch::TensorOptions().dtype(s.dtype))});
      continue;
    }
    // A view that keeps the inline block alive (built without the dispatcher: see storage_view).
    out.push_back({s.name, storage_view(inline_block, s.index, s.dtype, s.shape)});
  }
  return out;
}

}  // namespace pbtnas
