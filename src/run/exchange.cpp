#include "pbtnas/run/exchange.hpp"

#include <chrono>
#include <cstring>
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

// One payload travels as a single contiguous buffer: [manifest][pad][tensor 0][pad][tensor 1]...
// with every tensor 64-byte aligned, so that the receiver's tensors are views into the one
// buffer it received into (no copy on arrival). A 16-byte header message announces the sizes.
constexpr std::size_t kAlign = 64;
std::size_t align_up(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

struct PayloadHeader {
  std::uint64_t manifest_bytes = 0;
  std::uint64_t total_bytes = 0;
};

torch::Tensor pack(const NamedState& state, PayloadHeader& header) {
  const std::string manifest = encode(manifest_of(state));
  std::size_t total = align_up(manifest.size());
  for (const auto& nt : state) total += align_up(nt.tensor.numel() * nt.tensor.element_size());
  torch::Tensor buf = torch::empty({static_cast<std::int64_t>(total)}, torch::kUInt8);
  auto* base = static_cast<char*>(buf.data_ptr());
  std::memcpy(base, manifest.data(), manifest.size());
  std::size_t offset = align_up(manifest.size());
  for (const auto& nt : state) {
    const torch::Tensor t = nt.tensor.contiguous();
    const std::size_t n = t.numel() * t.element_size();
    if (n) std::memcpy(base + offset, t.data_ptr(), n);
    offset += align_up(n);
  }
  header.manifest_bytes = manifest.size();
  header.total_bytes = total;
  return buf;
}

NamedState unpack(const torch::Tensor& buf, const PayloadHeader& header) {
  auto* base = static_cast<char*>(buf.data_ptr());
  const auto m = decode<TensorManifest>(std::string(base, header.manifest_bytes));
  NamedState out;
  std::size_t offset = align_up(header.manifest_bytes);
  for (std::size_t i = 0; i < m.names.size(); ++i) {
    const auto dtype = static_cast<torch::ScalarType>(m.dtypes[i]);
    torch::Tensor t = torch::from_blob(base + offset, m.shapes[i], [keep = buf](void*) {},
                                       torch::TensorOptions().dtype(dtype));
    offset += align_up(t.numel() * t.element_size());
    if (offset > header.total_bytes) throw std::runtime_error("exploit: payload shorter than its manifest");
    out.push_back({m.names[i], t});
  }
  return out;
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
    return donor_tensors(task.space(), plan.children[t.child].swapped_genes, full, extras);
  };

  // 2.-4. Post all sends first (so no rank blocks while others wait for it), then receives.
  const auto tt = Clock::now();
  std::vector<PayloadHeader> headers_out;
  headers_out.reserve(transfers.size());
  std::vector<torch::Tensor> buffers_out;
  std::map<int, NamedState> received;  // by transfer index
  for (const Transfer& t : transfers) {
    if (t.src != me) continue;
    if (t.local()) {
      received.emplace(t.index, payload_of(t));
      continue;
    }
    headers_out.emplace_back();
    buffers_out.push_back(pack(payload_of(t), headers_out.back()));
    transport.post_send(t.dst, kTagManifestBase + t.index, &headers_out.back(), sizeof(PayloadHeader));
    transport.post_send(t.dst, kTagPayloadBase + t.index, buffers_out.back().data_ptr(), headers_out.back().total_bytes);
    stats.bytes_sent += headers_out.back().total_bytes;
  }
  std::map<int, std::pair<PayloadHeader, torch::Tensor>> incoming;
  for (const Transfer& t : transfers) {
    if (t.dst != me || t.local()) continue;
    const std::string h = transport.recv(t.src, kTagManifestBase + t.index);
    if (h.size() != sizeof(PayloadHeader)) throw std::runtime_error("exploit: malformed payload header");
    PayloadHeader header;
    std::memcpy(&header, h.data(), sizeof header);
    torch::Tensor buf = torch::empty({static_cast<std::int64_t>(header.total_bytes)}, torch::kUInt8);
    transport.post_recv(t.src, kTagPayloadBase + t.index, buf.data_ptr(), header.total_bytes);
    stats.bytes_received += header.total_bytes;
    incoming.emplace(t.index, std::make_pair(header, buf));
  }
  transport.wait_all();
  for (auto& [index, in] : incoming) received.emplace(index, unpack(in.second, in.first));
  stats.transfer_seconds = since(tt);

  // 5. Build the children owned here.
  const ShrinkPerturb sp{cfg.shrink, cfg.perturb};
  for (const ChildTransfers& ct : per_child) {
    if (ct.full.dst != me) continue;
    const ChildPlan& c = plan.children[ct.full.child];
    const NamedState& parent1 = received.at(ct.full.index);
    static const NamedState kNone;
    const NamedState& donor = ct.has_donor ? received.at(ct.donor.index) : kNone;
    const NamedState fresh = export_member_state(task.create(c.genome, c.fresh_seed, torch::kCPU));
    NamedState child = assemble_child(task.space(), c, parent1, donor, fresh, sp, extras);
    if (c.kind == ChildKind::WeightMutation) mutate_weights(child, c.fresh_seed, task.mutation_groups());
    Member m = task.create(c.genome, c.fresh_seed, device);
    import_member_state(m, child);
    members[c.slot] = std::move(m);
  }
  stats.seconds = since(t0);
  return stats;
}

}  // namespace pbtnas
