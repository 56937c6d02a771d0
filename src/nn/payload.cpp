#include "pbtnas/nn/payload.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

#include "pbtnas/core/messages.hpp"

namespace pbtnas {
namespace {

std::size_t align_up(std::size_t n) { return (n + kPayloadAlign - 1) / kPayloadAlign * kPayloadAlign; }

[[noreturn]] void bad(const std::string& what) { throw std::runtime_error("exploit payload: " + what); }

}  // namespace

torch::Tensor pack_payload(const NamedState& state, PayloadHeader& header) {
  TensorManifest m;
  std::size_t total = 0;
  std::vector<torch::Tensor> host;
  host.reserve(state.size());
  for (const auto& nt : state) {
    host.push_back(nt.tensor.to(torch::kCPU).contiguous());
    const torch::Tensor& t = host.back();
    m.names.push_back(nt.name);
    m.dtypes.push_back(static_cast<int>(t.scalar_type()));
    m.shapes.emplace_back(t.sizes().begin(), t.sizes().end());
  }
  const std::string manifest = encode(m);
  total = align_up(manifest.size());
  for (const auto& t : host) total += align_up(t.numel() * t.element_size());
  torch::Tensor buf = torch::empty({static_cast<std::int64_t>(total)}, torch::kUInt8);
  auto* base = static_cast<char*>(buf.data_ptr());
  std::memcpy(base, manifest.data(), manifest.size());
  std::size_t offset = align_up(manifest.size());
  for (const auto& t : host) {
    const std::size_t n = t.numel() * t.element_size();
    if (n) std::memcpy(base + offset, t.data_ptr(), n);
    offset += align_up(n);
  }
  header.manifest_bytes = manifest.size();
  header.total_bytes = total;
  return buf;
}

NamedState unpack_payload(const torch::Tensor& buffer, const PayloadHeader& header) {
  if (!buffer.defined() || buffer.scalar_type() != torch::kUInt8 || !buffer.is_contiguous())
    bad("the buffer must be a contiguous uint8 tensor");
  const auto size = static_cast<std::uint64_t>(buffer.numel());
  if (size != header.total_bytes)
    bad("the buffer holds " + std::to_string(size) + " bytes but its header announces " +
        std::to_string(header.total_bytes));
  if (header.manifest_bytes > header.total_bytes) bad("the manifest is longer than the payload");
  auto* base = static_cast<char*>(buffer.data_ptr());
  TensorManifest m;
  try {
    m = decode<TensorManifest>(std::string(base, header.manifest_bytes));
  } catch (const std::exception& e) {
    bad(std::string("the manifest does not decode (") + e.what() + ")");
  }
  if (m.dtypes.size() != m.names.size() || m.shapes.size() != m.names.size()) bad("the manifest is inconsistent");
  NamedState out;
  out.reserve(m.names.size());
  std::uint64_t offset = align_up(header.manifest_bytes);
  for (std::size_t i = 0; i < m.names.size(); ++i) {
    const auto dtype = static_cast<torch::ScalarType>(m.dtypes[i]);
    std::uint64_t numel = 1;
    for (std::int64_t d : m.shapes[i]) {
      if (d < 0) bad("tensor '" + m.names[i] + "' has a negative extent");
      numel *= static_cast<std::uint64_t>(d);
    }
    const std::uint64_t n = numel * c10::elementSize(dtype);
    if (offset + n > header.total_bytes)
      bad("tensor '" + m.names[i] + "' (" + std::to_string(n) + " bytes at offset " + std::to_string(offset) +
          ") does not fit into the " + std::to_string(header.total_bytes) + "-byte payload: it is shorter than its manifest");
    torch::Tensor t = torch::from_blob(base + offset, m.shapes[i], [keep = buffer](void*) {},
                                       torch::TensorOptions().dtype(dtype));
    offset += align_up(n);
    out.push_back({m.names[i], t});
  }
  return out;
}

}  // namespace pbtnas
