#include "pbtnas/nn/payload.hpp"

#include <zlib.h>

#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "pbtnas/core/messages.hpp"

namespace pbtnas {
namespace {

std::uint64_t align_up(std::uint64_t n) { return (n + kPayloadAlign - 1) / kPayloadAlign * kPayloadAlign; }

std::uint32_t crc_of(const char* data, std::size_t n) {
  return static_cast<std::uint32_t>(crc32_z(crc32_z(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(data), n));
}

[[noreturn]] void fail(const std::string& what, const std::string& why) {
  throw std::runtime_error("exploit payload (" + what + "): " + why);
}

std::uint64_t nbytes(const torch::Tensor& t) {
  return static_cast<std::uint64_t>(t.numel()) * static_cast<std::uint64_t>(t.element_size());
}

}  // namespace

std::uint64_t OutgoingPayload::message_bytes() const {
  std::uint64_t n = head.size();
  if (inline_block.defined()) n += nbytes(inline_block);
  for (const auto& t : direct) n += nbytes(t);
  return n;
}

OutgoingPayload encode_payload(const NamedState& state) {
  OutgoingPayload out;
  TensorManifest m;
  std::vector<torch::Tensor> host;
  host.reserve(state.size());
  std::uint64_t inline_bytes = 0;
  for (const auto& nt : state) {
    // No copy for a contiguous CPU tensor (the usual case: exports are contiguous CPU tensors).
    host.push_back(nt.tensor.to(torch::kCPU).contiguous());
    const torch::Tensor& t = host.back();
    m.names.push_back(nt.name);
    m.dtypes.push_back(static_cast<int>(t.scalar_type()));
    m.shapes.emplace_back(t.sizes().begin(), t.sizes().end());
    const std::uint64_t n = nbytes(t);
    out.tensor_bytes += n;
    if (n < kPayloadDirectMin)
      inline_bytes += align_up(n);
    else
      out.direct.push_back(t);
  }
  if (inline_bytes > 0) {
    out.inline_block = torch::empty({static_cast<std::int64_t>(inline_bytes)}, torch::kUInt8);
    auto* base = static_cast<char*>(out.inline_block.data_ptr());
    std::uint64_t offset = 0;
    for (const auto& t : host) {
      const std::uint64_t n = nbytes(t);
      if (n >= kPayloadDirectMin) continue;
      if (n) std::memcpy(base + offset, t.data_ptr(), n);
      const std::uint64_t padded = align_up(n);
      if (padded > n) std::memset(base + offset + n, 0, padded - n);
      offset += padded;
    }
  }
  const std::string manifest = encode(m);
  PayloadHeader h;
  h.manifest_bytes = manifest.size();
  h.manifest_crc32 = crc_of(manifest.data(), manifest.size());
  h.inline_bytes = inline_bytes;
  out.head.resize(sizeof h);
  std::memcpy(out.head.data(), &h, sizeof h);
  out.head += manifest;
  return out;
}

std::uint64_t payload_head_bytes(const std::string& head_start, const std::string& what) {
  if (head_start.size() < sizeof(PayloadHeader))
    fail(what, "the head has " + std::to_string(head_start.size()) + " bytes, fewer than its " +
                   std::to_string(sizeof(PayloadHeader)) + "-byte header");
  PayloadHeader h;
  std::memcpy(&h, head_start.data(), sizeof h);
  if (h.magic != kPayloadMagic) fail(what, "the head does not start with the payload magic (another message on this tag?)");
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
  if (h.magic != kPayloadMagic) bad("the head does not start with the payload magic (another message on this tag?)");
  if (h.manifest_bytes != head.size() - sizeof h)
    bad("the header announces a " + std::to_string(h.manifest_bytes) + "-byte manifest but " +
        std::to_string(head.size() - sizeof h) + " bytes follow it");
  const char* mbytes = head.data() + sizeof h;
  if (crc_of(mbytes, h.manifest_bytes) != h.manifest_crc32) bad("the manifest's CRC-32 does not match (damaged in transit)");
  if (h.direct_min != kPayloadDirectMin)
    bad("the sender sends tensors of " + std::to_string(h.direct_min) + " bytes and more directly, this build " +
        std::to_string(kPayloadDirectMin) + " (mixed pbtnas builds in one job?)");
  TensorManifest m;
  try {
    m = decode<TensorManifest>(std::string(mbytes, h.manifest_bytes));
  } catch (const std::exception& e) {
    bad(std::string("the manifest does not decode (") + e.what() + ")");
  }
  if (m.dtypes.size() != m.names.size() || m.shapes.size() != m.names.size()) bad("the manifest is inconsistent");
  slots_.reserve(m.names.size());
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < m.names.size(); ++i) {
    const std::string& name = m.names[i];
    const int code = m.dtypes[i];
    if (code < 0 || code >= static_cast<int>(torch::ScalarType::NumOptions) ||
        code == static_cast<int>(torch::ScalarType::Undefined))
      bad("tensor '" + name + "' has an unknown dtype code " + std::to_string(code));
    const auto dtype = static_cast<torch::ScalarType>(code);
    std::uint64_t n = c10::elementSize(dtype);
    for (std::int64_t d : m.shapes[i]) {
      if (d < 0) bad("tensor '" + name + "' has a negative extent");
      if (d > 0 && n > std::numeric_limits<std::uint64_t>::max() / static_cast<std::uint64_t>(d))
        bad("tensor '" + name + "' has an impossible size");
      n *= static_cast<std::uint64_t>(d);
    }
    Slot s{name, n < h.direct_min, 0, dtype, m.shapes[i]};
    if (s.is_inline) {
      s.index = offset;
      offset += align_up(n);
      if (offset > h.inline_bytes)
        bad("tensor '" + name + "' (" + std::to_string(n) + " bytes) does not fit into the " +
            std::to_string(h.inline_bytes) + "-byte inline block: it is shorter than its manifest");
    } else {
      s.index = direct.size();
      direct.push_back(torch::empty(m.shapes[i], torch::TensorOptions().dtype(dtype)));
    }
    slots_.push_back(std::move(s));
  }
  if (offset != h.inline_bytes)
    bad("the inline block has " + std::to_string(h.inline_bytes) + " bytes but its tensors take " +
        std::to_string(offset));
  if (h.inline_bytes > 0) inline_block = torch::empty({static_cast<std::int64_t>(h.inline_bytes)}, torch::kUInt8);
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
    auto* base = static_cast<char*>(inline_block.data_ptr()) + s.index;
    // A view that keeps the inline block alive.
    out.push_back({s.name, torch::from_blob(base, s.shape, [keep = inline_block](void*) {},
                                            torch::TensorOptions().dtype(s.dtype))});
  }
  return out;
}

}  // namespace pbtnas
