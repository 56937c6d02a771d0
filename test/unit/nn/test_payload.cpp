// The payload codec of exploit transfers: exact round trips, 64-byte alignment, empty and 0-dim
// tensors, and damaged payloads refused before any view is made.
#include <catch2/catch.hpp>

#include <cstdint>

#include "pbtnas/nn/payload.hpp"

using namespace pbtnas;

namespace {

NamedState sample_state() {
  torch::manual_seed(3);
  return {{"model.a.weight", torch::randn({3, 5})},
          {"model.a.bias", torch::randn({3}).to(torch::kFloat64)},
          {"model.empty", torch::empty({0, 4})},
          {"optim.0.count", torch::scalar_tensor(static_cast<std::int64_t>(7), torch::kLong)},
          {"extra.buffer.flags", torch::tensor({true, false, true})},
          {"model.half", torch::randn({2, 3}).to(torch::kHalf)},
          {"model.strided", torch::randn({4, 6}).t()}};  // not contiguous
}

}  // namespace

TEST_CASE("payload: pack and unpack round-trip bit-exactly with every tensor 64-byte aligned") {
  const NamedState in = sample_state();
  PayloadHeader h;
  const torch::Tensor buf = pack_payload(in, h);
  CHECK(static_cast<std::uint64_t>(buf.numel()) == h.total_bytes);
  CHECK(h.total_bytes % kPayloadAlign == 0);
  const NamedState out = unpack_payload(buf, h);
  REQUIRE(out.size() == in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    INFO(in[i].name);
    CHECK(out[i].name == in[i].name);
    CHECK(out[i].tensor.scalar_type() == in[i].tensor.scalar_type());
    CHECK(out[i].tensor.sizes() == in[i].tensor.sizes());
    CHECK(torch::equal(out[i].tensor, in[i].tensor.contiguous()));
    if (out[i].tensor.numel() > 0) CHECK(reinterpret_cast<std::uintptr_t>(out[i].tensor.data_ptr()) % kPayloadAlign == 0);
  }
  // Views into the buffer: no copy on arrival.
  const auto* base = static_cast<const char*>(buf.data_ptr());
  const auto* first = static_cast<const char*>(out[0].tensor.data_ptr());
  CHECK(first >= base);
  CHECK(first < base + buf.numel());
}

TEST_CASE("payload: an empty state packs to its manifest alone") {
  PayloadHeader h;
  const torch::Tensor buf = pack_payload({}, h);
  CHECK(h.total_bytes == kPayloadAlign * ((h.manifest_bytes + kPayloadAlign - 1) / kPayloadAlign));
  CHECK(unpack_payload(buf, h).empty());
}

TEST_CASE("payload: a payload shorter than its manifest or with a lying header is refused") {
  PayloadHeader h;
  const torch::Tensor buf = pack_payload(sample_state(), h);
  // Cut: the header and the buffer agree, but the tensors announced do not fit.
  PayloadHeader cut = h;
  cut.total_bytes = h.total_bytes - 2 * kPayloadAlign;
  CHECK_THROWS_WITH(unpack_payload(buf.slice(0, 0, static_cast<std::int64_t>(cut.total_bytes)).contiguous(), cut),
                    Catch::Contains("shorter than its manifest"));
  // The header announces another size than arrived.
  PayloadHeader lying = h;
  lying.total_bytes += 64;
  CHECK_THROWS_WITH(unpack_payload(buf, lying), Catch::Contains("announces"));
  PayloadHeader long_manifest = h;
  long_manifest.manifest_bytes = h.total_bytes + 1;
  CHECK_THROWS_WITH(unpack_payload(buf, long_manifest), Catch::Contains("manifest is longer"));
  // A manifest that is not one.
  torch::Tensor garbage = torch::full({static_cast<std::int64_t>(h.total_bytes)}, 0xFF, torch::kUInt8);
  CHECK_THROWS_WITH(unpack_payload(garbage, h), Catch::Contains("exploit payload"));
}
