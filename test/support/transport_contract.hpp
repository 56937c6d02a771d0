#pragma once
// The contract every Transport must keep, as one function that each of >= 3 ranks calls:
//   * messages between one pair of ranks with one tag arrive in sending order;
//   * recv(kAnySource) takes messages from any rank and names the sender;
//   * a receive on one tag is not satisfied by a message on another tag;
//   * bulk payloads larger than the transport's chunk size arrive intact, zero-byte payloads and
//     zero-byte control messages complete;
//   * everything posted before wait_all() is complete after it, whatever the posting order.
// Returns a description of the first violation seen on this rank ("" when none), so the same
// code checks LocalTransport (threads) and MpiTransport (mpirun).
#include <cstdint>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "pbtnas/core/transport.hpp"

namespace pbtnas::test {

inline std::string check_transport_contract(Transport& t, std::size_t bulk_bytes) {
  const int me = t.rank(), n = t.size();
  if (n < 3) return "the contract needs at least 3 ranks";
  const int kOrdered = 101, kOther = 102, kAny = 103, kBulk = 104, kEmpty = 105;
  // 1. Per-tag ordering, and tags kept apart: rank 1 sends 0..9 on kOrdered interleaved with
  //    "x" on kOther; rank 0 reads kOther last.
  if (me == 1) {
    for (int i = 0; i < 10; ++i) {
      t.send(0, kOrdered, std::to_string(i));
      t.send(0, kOther, "x" + std::to_string(i));
    }
  } else if (me == 0) {
    for (int i = 0; i < 10; ++i) {
      int from = -1;
      const std::string m = t.recv(1, kOrdered, &from);
      if (m != std::to_string(i)) return "per-tag order: expected " + std::to_string(i) + ", got '" + m + "'";
      if (from != 1) return "recv named sender " + std::to_string(from) + " instead of 1";
    }
    for (int i = 0; i < 10; ++i)
      if (t.recv(1, kOther) != "x" + std::to_string(i)) return "messages on a second tag out of order";
  }
  t.barrier();
  // 2. Any-source: every worker sends its rank; rank 0 must see each exactly once, with the sender.
  if (me != 0) {
    t.send(0, kAny, std::to_string(me));
  } else {
    std::set<int> seen;
    for (int i = 1; i < n; ++i) {
      int from = -1;
      const std::string m = t.recv(kAnySource, kAny, &from);
      if (m != std::to_string(from)) return "any-source: message '" + m + "' attributed to rank " + std::to_string(from);
      seen.insert(from);
    }
    if (static_cast<int>(seen.size()) != n - 1) return "any-source: a sender was seen twice";
  }
  t.barrier();
  // 3. Bulk: ranks 1 and 2 swap a pattern of bulk_bytes (chunked by the transport) plus a
  //    zero-byte payload and a zero-byte control message, receives posted before the sends.
  if (me == 1 || me == 2) {
    const int peer = me == 1 ? 2 : 1;
    std::vector<std::uint8_t> out(bulk_bytes), in(bulk_bytes, 0);
    for (std::size_t i = 0; i < bulk_bytes; ++i) out[i] = static_cast<std::uint8_t>((i * 131 + static_cast<std::size_t>(me)) % 251);
    char empty_in = 'z', empty_out = 'y';
    t.post_recv(peer, kBulk, in.data(), in.size());
    t.post_recv(peer, kEmpty, &empty_in, 0);
    t.post_send(peer, kEmpty, &empty_out, 0);
    t.post_send(peer, kBulk, out.data(), out.size());
    t.wait_all();
    for (std::size_t i = 0; i < bulk_bytes; ++i)
      if (in[i] != static_cast<std::uint8_t>((i * 131 + static_cast<std::size_t>(peer)) % 251))
        return "bulk payload differs at byte " + std::to_string(i);
    if (empty_in != 'z') return "a zero-byte payload wrote into its buffer";
    t.send(peer, kEmpty, "");
    if (!t.recv(peer, kEmpty).empty()) return "a zero-byte control message arrived non-empty";
  }
  t.barrier();
  return "";
}

}  // namespace pbtnas::test
