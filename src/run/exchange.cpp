#include "pbtnas/run/exchange.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>

#include "pbtnas/messages.hpp"
#include "pbtnas/nn/child.hpp"
#include "pbtnas/nn/shrink_perturb.hpp"
#include "pbtnas/nn/weight_mutation.hpp"

namespace pbtnas {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

TensorManifest manifest_of(const NamedState& state) {
  TensorManifest m;
  for (const auto& nt : state) {
    m.names.push_back(nt.name);
    m.dtypes.push_back(static_cast<int>(nt.tensor.scalar_type()));
    m.shapes.emplace_back(nt.tensor.sizes().begin(), nt.tensor.sizes().end());
  }
  return m;
}

NamedState allocate(const TensorManifest& m) {
  NamedState out;
  for (std::size_t i = 0; i < m.names.size(); ++i)
    out.push_back({m.names[i], torch::empty(m.shapes[i], torch::TensorOptions().dtype(static_cast<torch::ScalarType>(m.dtypes[i])))});
  return out;
}

}  // namespace

ExchangeStats execute_exploit(Transport& transport, const Layout& layout, const ExploitPlan& plan,
                              const RunConfig& cfg, const Task& task, torch::Device device,
                              std::map<int, Member>& members) {
  ExchangeStats stats;
  const auto t0 = Clock::now();
  const int me = transport.rank();
  const auto transfers = plan_transfers(plan, layout);
  if (static_cast<int>(transfers.size()) > kMaxTransfers)
    throw std::runtime_error("exploit: " + std::to_string(transfers.size()) + " transfers exceed the tag space");

  // 1. Snapshot every parent this rank must send (before any slot is overwritten).
  std::map<int, NamedState> snapshots;
  for (const Transfer& t : transfers)
    if (t.src == me && !snapshots.count(t.member)) {
      auto it = members.find(t.member);
      if (it == members.end())
        throw std::runtime_error("exploit: rank " + std::to_string(me) + " should own member " + std::to_string(t.member));
      snapshots.emplace(t.member, export_member_state(it->second));
    }
  auto payload_of = [&](const Transfer& t) -> NamedState {
    const NamedState& full = snapshots.at(t.member);
    if (t.role == Transfer::Role::Full) return full;
    return donor_tensors(task.space(), plan.children[t.child].swapped_genes, full);
  };

  // 2.-4. Post all sends first (so no rank blocks while others wait for it), then receives.
  const auto tt = Clock::now();
  std::vector<std::unique_ptr<std::string>> manifests_out;
  std::vector<NamedState> payloads_out;
  payloads_out.reserve(transfers.size());
  std::map<int, NamedState> received;  // by transfer index
  for (const Transfer& t : transfers) {
    if (t.src != me) continue;
    if (t.local()) {
      received.emplace(t.index, payload_of(t));
      continue;
    }
    payloads_out.push_back(payload_of(t));
    const NamedState& p = payloads_out.back();
    manifests_out.push_back(std::make_unique<std::string>(encode(manifest_of(p))));
    transport.post_send(t.dst, kTagManifestBase + t.index, manifests_out.back()->data(), manifests_out.back()->size());
    for (const auto& nt : p) {
      const std::size_t n = nt.tensor.numel() * nt.tensor.element_size();
      transport.post_send(t.dst, kTagPayloadBase + t.index, nt.tensor.data_ptr(), n);
      stats.bytes_sent += n;
    }
  }
  for (const Transfer& t : transfers) {
    if (t.dst != me || t.local()) continue;
    const auto manifest = decode<TensorManifest>(transport.recv(t.src, kTagManifestBase + t.index));
    NamedState into = allocate(manifest);
    for (auto& nt : into) {
      const std::size_t n = nt.tensor.numel() * nt.tensor.element_size();
      transport.post_recv(t.src, kTagPayloadBase + t.index, nt.tensor.data_ptr(), n);
      stats.bytes_received += n;
    }
    received.emplace(t.index, std::move(into));
  }
  transport.wait_all();
  stats.transfer_seconds = since(tt);

  // 5. Build the children owned here.
  const ShrinkPerturb sp{cfg.shrink, cfg.perturb};
  for (const Transfer& t : transfers) {
    if (t.dst != me || t.role != Transfer::Role::Full) continue;
    const ChildPlan& c = plan.children[t.child];
    const NamedState& parent1 = received.at(t.index);
    static const NamedState kNone;
    const bool has_donor = t.index + 1 < static_cast<int>(transfers.size()) &&
                           transfers[t.index + 1].child == t.child && transfers[t.index + 1].role == Transfer::Role::Donor;
    const NamedState& donor = has_donor ? received.at(t.index + 1) : kNone;
    const NamedState fresh = export_member_state(task.create(c.genome, c.fresh_seed, torch::kCPU));
    NamedState child = assemble_child(task.space(), c, parent1, donor, fresh, sp);
    if (c.kind == ChildKind::WeightMutation) mutate_weights(child, c.fresh_seed);
    Member m = task.create(c.genome, c.fresh_seed, device);
    import_member_state(m, child);
    members[c.slot] = std::move(m);
  }
  stats.seconds = since(t0);
  return stats;
}

}  // namespace pbtnas
