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
  // 1. Post this worker's payload to every other worker (one buffer, sent W - 1 times).
  PayloadHeader header;
  const torch::Tensor buffer = pack_payload(mine, header);
  for (int r = 1; r < transport.size(); ++r) {
    if (r == me) continue;
    transport.post_send(r, kTagSharedHeader, &header, sizeof header);
    transport.post_send(r, kTagSharedPayload, buffer.data_ptr(), header.total_bytes);
    stats.bytes_sent += header.total_bytes;
  }
  // 2. Receive every other worker's payload.
  std::map<int, std::pair<PayloadHeader, torch::Tensor>> incoming;
  for (int r = 1; r < transport.size(); ++r) {
    if (r == me) continue;
    const std::string h = transport.recv(r, kTagSharedHeader);
    if (h.size() != sizeof(PayloadHeader)) throw std::runtime_error("shared state exchange: malformed payload header");
    PayloadHeader in;
    std::memcpy(&in, h.data(), sizeof in);
    torch::Tensor buf = torch::empty({static_cast<std::int64_t>(in.total_bytes)}, torch::kUInt8);
    transport.post_recv(r, kTagSharedPayload, buf.data_ptr(), in.total_bytes);
    stats.bytes_received += in.total_bytes;
    incoming.emplace(r, std::make_pair(in, buf));
  }
  transport.wait_all();
  for (auto& [rank, in] : incoming) add_payload(unpack_payload(in.second, in.first), rank, by_member);
  // 3. Commit in member order.
  std::vector<Contribution> all;
  for (auto& [id, state] : by_member) all.push_back({id, std::move(state)});
  shared.commit(all);
  stats.contributions = static_cast<int>(all.size());
  stats.seconds = since(t0);
  return stats;
}

}  // namespace pbtnas
