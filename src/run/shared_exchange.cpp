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

}  // namespace

SharedExchangeStats exchange_shared_state(Transport& transport, std::map<int, Member>& members, SharedState& shared) {
  SharedExchangeStats stats;
  const auto t0 = Clock::now();
  const int me = transport.rank();
  std::map<int, NamedState> by_member;
  NamedState mine;
  for (auto& [id, member] : members) {
    NamedState c = shared.take_contribution(member);
    for (auto& nt : c) mine.push_back({"m" + std::to_string(id) + "." + nt.name, nt.tensor});
    if (!c.empty()) by_member[id] = std::move(c);
  }
  // 1. Post this worker's payload to every other worker (one encoding, sent W - 1 times): the head
  // on the header tag, then the inline block and the direct tensors on the payload tag.
  const OutgoingPayload out = encode_payload(mine);
  for (int r = 1; r < transport.size(); ++r) {
    if (r == me) continue;
    transport.post_send(r, kTagSharedHeader, out.head.data(), out.head.size());
    if (out.inline_block.defined() && out.inline_block.numel() > 0)
      transport.post_send(r, kTagSharedPayload, out.inline_block.data_ptr(),
                          static_cast<std::size_t>(out.inline_block.numel()));
    for (const auto& t : out.direct)
      transport.post_send(r, kTagSharedPayload, t.data_ptr(), static_cast<std::size_t>(t.numel()) * t.element_size());
    stats.bytes_sent += out.message_bytes();
  }
  // 2. Receive every other worker's payload into its final tensors.
  std::map<int, IncomingPayload> incoming;
  for (int r = 1; r < transport.size(); ++r) {
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
  for (auto& [rank, in] : incoming) add_payload(in.finish(), rank, by_member);
  // 3. Commit in member order.
  std::vector<Contribution> all;
  for (auto& [id, state] : by_member) all.push_back({id, std::move(state)});
  shared.commit(all);
  stats.contributions = static_cast<int>(all.size());
  stats.seconds = since(t0);
  return stats;
}

}  // namespace pbtnas
