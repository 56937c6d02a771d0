#include "pbtnas/run/exchange.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <string>
#include <functional>
#include <memory>
#include <stdexcept>

#include "pbtnas/core/messages.hpp"
#include "pbtnas/nn/child.hpp"
#include "pbtnas/nn/payload.hpp"
#include "pbtnas/nn/shrink_perturb.hpp"
#include "pbtnas/run/build_child.hpp"
#include "pbtnas/util/clock.hpp"

namespace pbtnas {
namespace {

// One payload between two workers; its index gives its message tags, `what` names it in errors.
struct Route {
  int index = 0;
  int src = 0, dst = 0;
  std::string what;
};

// Steps 2-4 of the header: every payload this rank sends (`payload_of(index)`) is encoded and
// posted first (so no rank blocks while others wait for it): its head on the manifest tag, then
// on the payload tag its large tensors, from their own storage, and its inline block. Then the
// heads of the incoming ones are received and checked, their tensors allocated and their
// receives posted, and all is waited on together; a route within this rank is a local copy.
// Returns the received states by index.
std::map<int, NamedState> transfer_payloads(Transport& transport, const std::vector<Route>& routes,
                                            const std::function<NamedState(int)>& payload_of, ExchangeStats& stats) {
  const int me = transport.rank();
  auto phase = Clock::now();
  auto lap = [&phase](double& into) {
    const auto now = Clock::now();
    into += std::chrono::duration<double>(now - phase).count();
    phase = now;
  };
  const double snapshots_before = stats.snapshot_seconds;  // payload_of may snapshot: not encoding
  std::deque<OutgoingPayload> outgoing;  // kept alive (and in place) until wait_all
  std::map<int, NamedState> received;
  for (const Route& r : routes) {
    if (r.src != me) continue;
    if (r.dst == me) {
      received.emplace(r.index, payload_of(r.index));
      continue;
    }
    // The head first, then the large tensors (from their own storage: nothing to prepare), and
    // the inline block last, once packed: the receiver checks the head and starts taking the
    // large tensors while the small ones are copied.
    OutgoingPayload& out = outgoing.emplace_back(encode_head(payload_of(r.index)));
    transport.post_send(r.dst, kTagManifestBase + r.index, out.head.data(), out.head.size());
    const int tag = kTagPayloadBase + r.index;
    for (const torch::Tensor& t : out.direct)
      transport.post_send(r.dst, tag, t.data_ptr(), static_cast<std::size_t>(t.numel()) * t.element_size());
    pack_inline(out);
    if (out.inline_block.defined())
      transport.post_send(r.dst, tag, out.inline_block.data_ptr(), static_cast<std::size_t>(out.inline_block.numel()));
    stats.bytes_sent += out.message_bytes();
  }
  lap(stats.encode_seconds);
  stats.encode_seconds -= stats.snapshot_seconds - snapshots_before;
  std::map<int, IncomingPayload> incoming;
  for (const Route& r : routes) {
    if (r.dst != me || r.src == me) continue;
    // The head may arrive in several messages (the transport chunks what it posts).
    std::string head = transport.recv(r.src, kTagManifestBase + r.index);
    while (head.size() < sizeof(PayloadHeader)) head += transport.recv(r.src, kTagManifestBase + r.index);
    const std::uint64_t head_bytes = payload_head_bytes(head, r.what);
    while (head.size() < head_bytes) head += transport.recv(r.src, kTagManifestBase + r.index);
    lap(stats.head_wait_seconds);
    const IncomingPayload& in = incoming.emplace(r.index, IncomingPayload(head, r.what)).first->second;
    const int tag = kTagPayloadBase + r.index;
    for (const torch::Tensor& t : in.direct)  // in the sender's order: large tensors, then the inline block
      transport.post_recv(r.src, tag, t.data_ptr(), static_cast<std::size_t>(t.numel()) * t.element_size());
    if (in.inline_block.defined())
      transport.post_recv(r.src, tag, in.inline_block.data_ptr(), static_cast<std::size_t>(in.inline_block.numel()));
    stats.bytes_received += in.message_bytes();
    lap(stats.decode_seconds);
  }
  transport.wait_all();
  lap(stats.wait_seconds);
  for (auto& [index, in] : incoming) received.emplace(index, in.finish());
  lap(stats.finish_seconds);
  return received;
}

}  // namespace

ExchangeStats execute_exploit(Transport& transport, const Layout& layout, const ExploitPlan& plan,
                              const RunConfig& cfg, const Task& task, torch::Device device,
                              std::map<int, Member>& members) {
  ExchangeStats stats;
  const auto t0 = Clock::now();
  const int me = transport.rank();
  const std::vector<ExtraState> extras = task.extra_state();
  const auto per_child = plan_transfers(plan, layout, donor_extras(extras));
  const auto transfers = all_transfers(per_child);
  if (static_cast<int>(transfers.size()) > kMaxTransfers)
    throw std::runtime_error("exploit: " + std::to_string(transfers.size()) + " transfers exceed the tag space");

  // 1. Each parent this rank sends is snapshotted when its first payload is encoded (so the first
  // head leaves after one snapshot, not all), and at the latest before step 5 overwrites any
  // slot. Borrowed (CPU tensors not copied): a snapshot is only read, by packing or by
  // assemble_child, which copies what it takes; replacing a slot's Member leaves the tensors it
  // held untouched and alive.
  for (const Transfer& t : transfers)
    if (t.src == me && !members.count(t.member))
      throw std::runtime_error("exploit: rank " + std::to_string(me) + " should own member " + std::to_string(t.member));
  std::map<int, NamedState> snapshots;
  auto snapshot_of = [&](int member) -> const NamedState& {
    auto s = snapshots.find(member);
    if (s != snapshots.end()) return s->second;
    const auto ts = Clock::now();
    const NamedState& out = snapshots.emplace(member, export_member_state(members.at(member), Snapshot::Borrow)).first->second;
    stats.snapshot_seconds += since(ts);
    return out;
  };
  auto payload_of = [&](const Transfer& t) -> NamedState {
    const NamedState& full = snapshot_of(t.member);
    if (t.role == Transfer::Role::Full) return full;
    return donor_tensors(task.space(), plan.children[t.child].swapped_genes, full, extras);
  };

  // 2.-4.
  const auto tt = Clock::now();
  std::vector<Route> routes;
  for (const Transfer& t : transfers)
    routes.push_back({t.index, t.src, t.dst,
                      "member " + std::to_string(t.member) +
                          (t.role == Transfer::Role::Full ? ", full state" : ", donor layers") + " for the child in slot " +
                          std::to_string(plan.children.at(static_cast<std::size_t>(t.child)).slot)});
  const std::map<int, NamedState> received =
      transfer_payloads(transport, routes, [&](int index) { return payload_of(transfers.at(static_cast<std::size_t>(index))); }, stats);
  stats.transfer_seconds = since(tt);

  // 5. Build the children owned here.
  const ShrinkPerturb sp{cfg.shrink, cfg.perturb};
  for (const ChildTransfers& ct : per_child) {
    if (ct.full.dst != me) continue;
    const ChildPlan& c = plan.children[ct.full.child];
    const NamedState& parent1 = received.at(ct.full.index);
    static const NamedState kNone;
    const NamedState& donor = ct.has_donor ? received.at(ct.donor.index) : kNone;
    members[c.slot] = build_child(task, c, parent1, donor, sp, device);
  }
  stats.seconds = since(t0);
  return stats;
}

ExchangeStats move_members(Transport& transport, const Layout& from, const Layout& to, const Task& task,
                           torch::Device device, std::map<int, Member>& members) {
  ExchangeStats stats;
  const auto t0 = Clock::now();
  const int me = transport.rank();
  const std::vector<Move> moves = layout_moves(from, to);
  if (static_cast<int>(moves.size()) > kMaxTransfers)
    throw std::runtime_error("move: " + std::to_string(moves.size()) + " moves exceed the tag space");
  // The tags of the exploit's transfers are reused: every exploit message between two ranks was
  // posted before any move message, and MPI does not let a later message overtake an earlier one
  // with the same source, destination and tag.
  static const std::string kGenome = "move.genome";
  std::vector<Route> routes;
  for (std::size_t i = 0; i < moves.size(); ++i)
    routes.push_back({static_cast<int>(i), moves[i].src, moves[i].dst,
                      "member " + std::to_string(moves[i].member) + " moving to rank " + std::to_string(moves[i].dst)});
  std::map<int, NamedState> received = transfer_payloads(transport, routes, [&](int index) {
    const int id = moves.at(static_cast<std::size_t>(index)).member;
    auto it = members.find(id);
    if (it == members.end()) throw std::runtime_error("move: rank " + std::to_string(me) + " should own member " + std::to_string(id));
    NamedState state = export_member_state(it->second);
    std::vector<std::int64_t> genome(it->second.genome.begin(), it->second.genome.end());
    state.push_back({kGenome, torch::tensor(genome, torch::kLong)});
    return state;
  }, stats);
  stats.transfer_seconds = since(t0);
  for (const Move& mv : moves)
    if (mv.src == me) members.erase(mv.member);
  for (auto& [index, state] : received) {
    const int id = moves.at(static_cast<std::size_t>(index)).member;
    const auto g = std::find_if(state.begin(), state.end(), [](const NamedTensor& t) { return t.name == kGenome; });
    if (g == state.end()) throw std::runtime_error("move: member " + std::to_string(id) + " arrived without its genome");
    const torch::Tensor gt = g->tensor.contiguous();
    Genome genome(gt.data_ptr<std::int64_t>(), gt.data_ptr<std::int64_t>() + gt.numel());
    state.erase(g);
    Member m = task.create(genome, 0, device);
    import_member_state(m, state);
    members[id] = std::move(m);
  }
  stats.seconds = since(t0);
  return stats;
}

}  // namespace pbtnas
