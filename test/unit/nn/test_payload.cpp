// The payload codec of exploit transfers: exact round trips, large tensors sent from their own
// storage, small ones 64-byte aligned in the inline block, empty and 0-dim tensors, and damaged
// heads refused with the payload's and the tensor's name before anything is received.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>

#include <zlib.h>

#include "pbtnas/nn/payload.hpp"

using namespace pbtnas;

namespace {

NamedState sample_state() {
  torch::manual_seed(3);
  return {{"model.a.weight", torch::randn({3, 5})},
          {"model.big.weight", torch::randn({64, 300})},  // 76,800 bytes: direct
          {"model.a.bias", torch::randn({3}).to(torch::kFloat64)},
          {"model.empty", torch::empty({0, 4})},
          {"optim.0.count", torch::scalar_tensor(static_cast<std::int64_t>(7), torch::kLong)},
          {"extra.buffer.flags", torch::tensor({true, false, true})},
          {"model.half", torch::randn({2, 3}).to(torch::kHalf)},
          {"model.big_strided", torch::randn({200, 100}).t()},  // direct, not contiguous
          {"model.strided", torch::randn({4, 6}).t()}};          // inline, not contiguous
}

std::size_t nbytes(const torch::Tensor& t) { return static_cast<std::size_t>(t.numel()) * t.element_size(); }

// What the transport does: the head as one message, then the inline block and the direct
// tensors in order.
NamedState deliver(const OutgoingPayload& out, const std::string& what = "member 3, full state") {
  IncomingPayload in(out.head, what);
  REQUIRE(in.inline_block.defined() == out.inline_block.defined());
  if (in.inline_block.defined()) {
    REQUIRE(nbytes(in.inline_block) == nbytes(out.inline_block));
    std::memcpy(in.inline_block.data_ptr(), out.inline_block.data_ptr(), nbytes(out.inline_block));
  }
  REQUIRE(in.direct.size() == out.direct.size());
  for (std::size_t i = 0; i < in.direct.size(); ++i) {
    REQUIRE(nbytes(in.direct[i]) == nbytes(out.direct[i]));
    std::memcpy(in.direct[i].data_ptr(), out.direct[i].data_ptr(), nbytes(out.direct[i]));
  }
  CHECK(in.message_bytes() == out.message_bytes());
  return in.finish();
}

PayloadHeader header_of(const std::string& head) {
  PayloadHeader h;
  std::memcpy(&h, head.data(), sizeof h);
  return h;
}

std::string with_header(std::string head, const PayloadHeader& h) {
  std::memcpy(head.data(), &h, sizeof h);
  return head;
}

}  // namespace

TEST_CASE("payload: encode and receive round-trip bit-exactly, large tensors sent from their own storage") {
  const NamedState in = sample_state();
  const OutgoingPayload out = encode_payload(in);
  // Two large tensors go directly; the contiguous one is the state's own storage (no copy).
  REQUIRE(out.direct.size() == 2);
  CHECK(out.direct[0].data_ptr() == in[1].tensor.data_ptr());
  CHECK(out.direct[1].is_contiguous());
  REQUIRE(out.inline_block.defined());
  CHECK(nbytes(out.inline_block) % kPayloadAlign == 0);
  CHECK(nbytes(out.inline_block) < kPayloadDirectMin);
  std::uint64_t total = 0;
  for (const auto& nt : in) total += nbytes(nt.tensor);
  CHECK(out.tensor_bytes == total);

  const NamedState got = deliver(out);
  REQUIRE(got.size() == in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    INFO(in[i].name);
    CHECK(got[i].name == in[i].name);
    CHECK(got[i].tensor.scalar_type() == in[i].tensor.scalar_type());
    CHECK(got[i].tensor.sizes() == in[i].tensor.sizes());
    CHECK(got[i].tensor.is_contiguous());
    CHECK(torch::equal(got[i].tensor, in[i].tensor.contiguous()));
    if (got[i].tensor.numel() > 0) CHECK(reinterpret_cast<std::uintptr_t>(got[i].tensor.data_ptr()) % kPayloadAlign == 0);
  }
}

TEST_CASE("payload: received small tensors are views into the inline block, large ones the tensors received into") {
  const OutgoingPayload out = encode_payload(sample_state());
  IncomingPayload in(out.head, "member 0");
  std::memcpy(in.inline_block.data_ptr(), out.inline_block.data_ptr(), nbytes(out.inline_block));
  for (std::size_t i = 0; i < in.direct.size(); ++i)
    std::memcpy(in.direct[i].data_ptr(), out.direct[i].data_ptr(), nbytes(out.direct[i]));
  const NamedState got = in.finish();
  const auto* base = static_cast<const char*>(in.inline_block.data_ptr());
  const auto* first = static_cast<const char*>(got[0].tensor.data_ptr());
  CHECK(first >= base);
  CHECK(first < base + nbytes(in.inline_block));
  CHECK(got[1].tensor.data_ptr() == in.direct[0].data_ptr());
  CHECK(got[7].tensor.data_ptr() == in.direct[1].data_ptr());
}

TEST_CASE("payload: an empty state, and a state of empty tensors, travel as the head alone") {
  const OutgoingPayload none = encode_payload({});
  CHECK_FALSE(none.inline_block.defined());
  CHECK(none.direct.empty());
  CHECK(deliver(none).empty());
  const OutgoingPayload empties = encode_payload({{"a", torch::empty({0})}, {"b", torch::empty({3, 0}, torch::kLong)}});
  CHECK_FALSE(empties.inline_block.defined());
  const NamedState got = deliver(empties);
  REQUIRE(got.size() == 2);
  CHECK(got[1].tensor.sizes() == torch::IntArrayRef({3, 0}));
  CHECK(got[1].tensor.scalar_type() == torch::kLong);
}

TEST_CASE("payload: damaged heads are refused naming the payload and the tensor") {
  const OutgoingPayload out = encode_payload(sample_state());
  const std::string what = "member 5, donor layers for the child in slot 2";
  CHECK_THROWS_WITH(IncomingPayload(out.head.substr(0, 10), what),
                    Catch::Contains("member 5, donor layers") && Catch::Contains("fewer than"));
  PayloadHeader h = header_of(out.head);
  // The head's size, from its first bytes (a transport may deliver it in pieces).
  CHECK(payload_head_bytes(out.head.substr(0, sizeof(PayloadHeader)), what) == out.head.size());
  CHECK_THROWS_WITH(payload_head_bytes(out.head.substr(0, 8), what), Catch::Contains("fewer than"));
  PayloadHeader wrong_magic = h;
  wrong_magic.magic ^= 1u;
  CHECK_THROWS_WITH(IncomingPayload(with_header(out.head, wrong_magic), what), Catch::Contains("magic"));
  CHECK_THROWS_WITH(payload_head_bytes(with_header(out.head, wrong_magic), what), Catch::Contains("member 5") && Catch::Contains("magic"));
  // A flipped byte in the manifest: the CRC catches it.
  std::string flipped = out.head;
  flipped[sizeof(PayloadHeader) + h.manifest_bytes / 2] ^= 0x10;
  CHECK_THROWS_WITH(IncomingPayload(flipped, what), Catch::Contains("member 5") && Catch::Contains("CRC-32"));
  // A head cut inside the manifest.
  CHECK_THROWS_WITH(IncomingPayload(out.head.substr(0, out.head.size() - 3), what), Catch::Contains("manifest"));
  // The header announces a shorter inline block than the manifest's small tensors take.
  PayloadHeader short_inline = h;
  short_inline.inline_bytes = kPayloadAlign;
  CHECK_THROWS_WITH(IncomingPayload(with_header(out.head, short_inline), what),
                    Catch::Contains("member 5") && Catch::Contains("tensor 'model.a.bias'") &&
                        Catch::Contains("shorter than its manifest"));
  PayloadHeader long_inline = h;
  long_inline.inline_bytes += kPayloadAlign;
  CHECK_THROWS_WITH(IncomingPayload(with_header(out.head, long_inline), what), Catch::Contains("inline block"));
  PayloadHeader other_build = h;
  other_build.direct_min = 1024;
  CHECK_THROWS_WITH(IncomingPayload(with_header(out.head, other_build), what), Catch::Contains("mixed pbtnas builds"));
}

namespace {

// `head` with its manifest replaced by `manifest` and the header's size and CRC fixed up, so that
// only the manifest's own structure is at fault.
std::string with_manifest(const std::string& head, const std::string& manifest) {
  PayloadHeader h = header_of(head);
  h.manifest_bytes = manifest.size();
  h.manifest_crc32 = static_cast<std::uint32_t>(
      crc32_z(crc32_z(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(manifest.data()), manifest.size()));
  std::string out(sizeof h, '\0');
  std::memcpy(out.data(), &h, sizeof h);
  return out + manifest;
}

}  // namespace

TEST_CASE("payload: manifests that are well protected but malformed are refused, naming the fault") {
  const OutgoingPayload out = encode_payload(sample_state());
  const std::string what = "member 4, full state for the child in slot 1";
  const std::string manifest = out.head.substr(sizeof(PayloadHeader));
  // Cut inside an entry (the CRC is recomputed, so only the structure tells).
  CHECK_THROWS_WITH(IncomingPayload(with_manifest(out.head, manifest.substr(0, manifest.size() - 5)), what),
                    Catch::Contains("member 4") && Catch::Contains("ends inside entry 8"));
  CHECK_THROWS_WITH(IncomingPayload(with_manifest(out.head, manifest + "xy"), what),
                    Catch::Contains("bytes after its last tensor"));
  std::string huge_count = manifest;
  const std::uint64_t count = std::uint64_t{1} << 40;
  std::memcpy(huge_count.data(), &count, sizeof count);
  CHECK_THROWS_WITH(IncomingPayload(with_manifest(out.head, huge_count), what), Catch::Contains("announces 1099511627776 tensors"));
  // An unknown dtype code in the first entry ("model.a.weight": u32 length, 14 bytes, dtype).
  std::string bad_dtype = manifest;
  bad_dtype[8 + 4 + 14] = static_cast<char>(200);
  CHECK_THROWS_WITH(IncomingPayload(with_manifest(out.head, bad_dtype), what),
                    Catch::Contains("tensor 'model.a.weight'") && Catch::Contains("unknown dtype code 200"));
  // A head of the previous payload format: named as an older build.
  PayloadHeader v1 = header_of(out.head);
  v1.magic = kPayloadMagicV1;
  CHECK_THROWS_WITH(IncomingPayload(with_header(out.head, v1), what), Catch::Contains("older pbtnas build"));
  CHECK_THROWS_WITH(payload_head_bytes(with_header(out.head, v1), what), Catch::Contains("older pbtnas build"));
}

TEST_CASE("payload: everything received lands in one block, the inline part first") {
  const OutgoingPayload out = encode_payload(sample_state());
  IncomingPayload in(out.head, "member 0");
  REQUIRE(in.inline_block.defined());
  REQUIRE(in.direct.size() == 2);
  const auto* base = static_cast<const char*>(in.inline_block.data_ptr());
  const auto* d0 = static_cast<const char*>(in.direct[0].data_ptr());
  const auto* d1 = static_cast<const char*>(in.direct[1].data_ptr());
  CHECK(in.direct[0].storage().is_alias_of(in.inline_block.storage()));
  CHECK(in.direct[1].storage().is_alias_of(in.inline_block.storage()));
  CHECK(d0 >= base + nbytes(in.inline_block));
  CHECK(d1 >= d0 + nbytes(in.direct[0]));
  CHECK(reinterpret_cast<std::uintptr_t>(d1) % kPayloadAlign == 0);
  CHECK(in.direct[1].sizes() == torch::IntArrayRef({100, 200}));
}

TEST_CASE("payload: the head can travel before the inline block is packed") {
  const NamedState state = sample_state();
  OutgoingPayload out = encode_head(state);
  CHECK(out.head == encode_payload(state).head);
  CHECK(out.small.size() == 7);
  pack_inline(out);
  CHECK(out.small.empty());
  const NamedState got = deliver(out);
  for (std::size_t i = 0; i < state.size(); ++i) CHECK(torch::equal(got[i].tensor, state[i].tensor.contiguous()));
}
