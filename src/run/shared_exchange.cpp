#include "pbtnas/run/shared_exchange.hpp"

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "pbtnas/core/messages.hpp"
#include "pbtnas/nn/payload.hpp"
#include "pbtnas/util/clock.hpp"

namespace pbtnas {
namespace {

// "m12.obs" -> (12, "obs"); false for any other name.
bool split_name(const std::string& name, int& member, std::string& field) {
  const std::size_t dot = name.find('.');
  if (name.size() < 4 || name[0] != 'm' || dot == std::string::npos || dot < 2 || dot + 1 >= name.size()) return false;
  for (std::size_t i = 1; i < dot; ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  member = std::stoi(name.substr(1, dot - 1));
  field = name.substr(dot + 1);
  return true;
}

void add_payload(const NamedState& payload, int from, std::map<int, NamedState>& by_member) {
  for (const auto& nt : payload) {
    int member = 0;
    std::string field;
    if (!split_name(nt.name, member, field))
      throw std::runtime_error("shared state exchange: rank " + std::to_string(from) + " sent a tensor named '" +
                               nt.name + "'");
    by_member[member].push_back({field, nt.tensor});
  }
}

// Every worker's members' outlines (member -> sizes) to every other worker, as int64 values
// {member, count, sizes...}: posted first, then received, so no send waits for a receive.
std::map<int, std::vector<std::int64_t>> exchange_outlines(Transport& transport, const SharedState& shared,
                                                          const std::map<int, NamedState>& taken) {
  std::map<int, std::vector<std::int64_t>> outlines;
  std::vector<std::int64_t> mine{0};  // a leading 0, so that the message is never empty
  for (const auto& [id, c] : taken) {
    std::vector<std::int64_t> o = shared.outline(c);
    mine.push_back(id);
    mine.push_back(static_cast<std::int64_t>(o.size()));
    mine.insert(mine.end(), o.begin(), o.end());
    outlines[id] = std::move(o);
  }
  const int me = transport.rank();
  for (int r = 1; r < transport.size(); ++r)
    if (r != me) transport.post_send(r, kTagSharedOutline, mine.data(), mine.size() * sizeof(std::int64_t));
  for (int r = 1; r < transport.size(); ++r) {
    if (r == me) continue;
    const std::string bytes = transport.recv(r, kTagSharedOutline);
    std::vector<std::int64_t> v(bytes.size() / sizeof(std::int64_t));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(std::int64_t));
    for (std::size_t i = 1; i + 1 < v.size();) {
      const auto n = static_cast<std::size_t>(v[i + 1]);
      if (v[i + 1] < 0 || i + 2 + n > v.size())
        throw std::runtime_error("shared state exchange: rank " + std::to_string(r) + " sent a damaged outline");
      outlines[static_cast<int>(v[i])].assign(v.begin() + static_cast<std::ptrdiff_t>(i + 2),
                                              v.begin() + static_cast<std::ptrdiff_t>(i + 2 + n));
      i += 2 + n;
    }
  }
  transport.wait_all();
  return outlines;
}

}  // namespace

SharedExchangeStats exchange_shared_state(Transport& transport, std::map<int, Member>& members, SharedState& shared,
                                          const SharedPlacement& placement) {
  SharedExchangeStats stats;
  const auto t0 = Clock::now();
  const int me = transport.rank();
  std::map<int, NamedState> by_member;
  std::map<int, NamedState> taken;
  for (auto& [id, member] : members) {
    NamedState c = shared.take_contribution(member);
    if (!c.empty()) taken[id] = std::move(c);
  }
  // 1. Every member's outline to every worker, so that each can leave out the rows that the
  // commit would overwrite anyway (SharedState::trim).
  const std::map<int, std::vector<std::int64_t>> outlines = exchange_outlines(transport, shared, taken);
  NamedState mine;
  for (auto& [id, c] : taken) {
    c = shared.trim(std::move(c), id, outlines);
    for (auto& nt : c) mine.push_back({"m" + std::to_string(id) + "." + nt.name, nt.tensor});
    if (placement.holds(me)) by_member[id] = std::move(c);
  }
  // 2. Post this worker's payload to every other worker that writes a copy (one encoding, sent to
  // each): the head on the header tag, then the inline block and the direct tensors.
  const OutgoingPayload out = encode_payload(mine);
  for (int r = 1; r < transport.size(); ++r) {
    if (r == me || !placement.holds(r)) continue;
    transport.post_send(r, kTagSharedHeader, out.head.data(), out.head.size());
    if (out.inline_block.defined() && out.inline_block.numel() > 0)
      transport.post_send(r, kTagSharedPayload, out.inline_block.data_ptr(),
                          static_cast<std::size_t>(out.inline_block.numel()));
    for (const auto& t : out.direct)
      transport.post_send(r, kTagSharedPayload, t.data_ptr(), static_cast<std::size_t>(t.numel()) * t.element_size());
    stats.bytes_sent += out.message_bytes();
  }
  // 3. A writer receives every other worker's payload into its final tensors.
  std::map<int, IncomingPayload> incoming;
  for (int r = 1; placement.holds(me) && r < transport.size(); ++r) {
    if (r == me) continue;
    const std::string what = "the shared state's new rows from rank " + std::to_string(r);
    std::string head = transport.recv(r, kTagSharedHeader);
    while (head.size() < sizeof(PayloadHeader)) head += transport.recv(r, kTagSharedHeader);
    const std::uint64_t head_bytes = payload_head_bytes(head, what);
    while (head.size() < head_bytes) head += transport.recv(r, kTagSharedHeader);
    const IncomingPayload& in = incoming.emplace(r, IncomingPayload(head, what)).first->second;
    if (in.inline_block.defined() && in.inline_block.numel() > 0)
      transport.post_recv(r, kTagSharedPayload, in.inline_block.data_ptr(),
                          static_cast<std::size_t>(in.inline_block.numel()));
    for (const auto& t : in.direct)
      transport.post_recv(r, kTagSharedPayload, t.data_ptr(), static_cast<std::size_t>(t.numel()) * t.element_size());
    stats.bytes_received += in.message_bytes();
  }
  transport.wait_all();
  if (placement.holds(me)) {
    // 4. Commit in member order; a node's writer then tells its readers, which wait for it.
    for (auto& [rank, in] : incoming) add_payload(in.finish(), rank, by_member);
    std::vector<Contribution> all;
    for (auto& [id, state] : by_member) all.push_back({id, std::move(state)});
    shared.commit(all);
    stats.contributions = static_cast<int>(all.size());
    static const std::string committed = "c";
    for (int r : placement.readers_of(me)) transport.post_send(r, kTagSharedNode, committed.data(), committed.size());
    transport.wait_all();
  } else {
    transport.recv(placement.writer_of(me), kTagSharedNode);
    shared.refresh();
    stats.contributions = static_cast<int>(outlines.size());
  }
  stats.seconds = since(t0);
  return stats;
}

}  // namespace pbtnas
