// The replay pool's node-shared memory (place, refresh) and its trimming of contributions
// (outline, trim): pool.hpp.
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "pbtnas/tasks/rl/pool.hpp"

namespace pbtnas::rl {
namespace {

constexpr std::uint64_t kMagic = 0x6c6f6f7073746270ULL;  // "pbtspool"
constexpr std::size_t kHeaderBytes = 4096;
constexpr std::size_t kAlign = 4096;

struct Header {
  std::uint64_t magic;
  std::int64_t capacity, next, size, allocated;
};

std::size_t aligned(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

std::size_t row_bytes(const torch::Tensor& t) {
  std::size_t n = t.element_size();
  for (std::int64_t d = 1; d < t.dim(); ++d) n *= static_cast<std::size_t>(t.size(d));
  return n;
}

// The region's view of one field: C rows of t's row shape and dtype at `offset`.
torch::Tensor view(const std::shared_ptr<SharedRegion>& region, std::size_t offset, const torch::Tensor& t,
                   std::int64_t capacity) {
  std::vector<std::int64_t> sizes(t.sizes().begin(), t.sizes().end());
  sizes[0] = capacity;
  return torch::from_blob(
      region->data() + offset, sizes, [region](void*) {}, torch::TensorOptions().dtype(t.scalar_type()));
}

std::int64_t first_rows(const NamedState& c) {
  for (const auto& nt : c)
    if (nt.name == "first") return nt.tensor.size(0);
  return 0;
}

}  // namespace

std::size_t ReplayPool::region_bytes() const {
  if (!node_memory_) return 0;
  std::size_t n = kHeaderBytes;
  for (const torch::Tensor* t : {&obs_, &action_, &reward_, &first_, &member_})
    n += aligned(row_bytes(*t) * static_cast<std::size_t>(capacity_));
  return n;
}

void ReplayPool::place(std::shared_ptr<SharedRegion> region) {
  if (!region || region->size() < region_bytes() || region_bytes() == 0)
    throw std::logic_error("replay pool: a shared region too small for the pool, or a pool kept per rank");
  std::size_t offset = kHeaderBytes;
  for (torch::Tensor* t : {&obs_, &action_, &reward_, &first_, &member_}) {
    torch::Tensor v = view(region, offset, *t, capacity_);
    offset += aligned(row_bytes(*t) * static_cast<std::size_t>(capacity_));
    if (region->writable() && allocated_ > 0) v.narrow(0, 0, allocated_).copy_(t->narrow(0, 0, allocated_));
    *t = v;
  }
  region_ = std::move(region);
  if (region_->writable())
    publish();
  else
    refresh();
}

void ReplayPool::publish() {
  if (!region_ || !region_->writable()) return;
  const Header h{kMagic, capacity_, next_, size_, allocated_};
  std::memcpy(region_->data(), &h, sizeof h);
}

void ReplayPool::refresh() {
  if (!region_) return;
  Header h{};
  std::memcpy(&h, region_->data(), sizeof h);
  if (h.magic != kMagic || h.capacity != capacity_ || h.size < 0 || h.size > capacity_ || h.allocated < 0 ||
      h.allocated > capacity_ || h.next < 0 || h.next >= capacity_)
    throw std::runtime_error("replay pool: the node's shared pool in " + region_->path() +
                             " has a damaged header (another run's file?)");
  next_ = h.next;
  size_ = h.size;
  allocated_ = h.allocated;
}

std::vector<std::int64_t> ReplayPool::outline(const NamedState& c) const {
  std::vector<std::int64_t> lengths;
  for (const auto& nt : c) {
    if (nt.name != "first") continue;
    const torch::Tensor f = nt.tensor.contiguous();
    const std::uint8_t* p = f.data_ptr<std::uint8_t>();
    const std::int64_t n = f.size(0);
    std::int64_t begin = 0;
    for (std::int64_t i = 1; i <= n; ++i)
      if (i == n || p[i]) {
        lengths.push_back(i - begin);
        begin = i;
      }
  }
  return lengths;
}

NamedState ReplayPool::trim(NamedState c, int member,
                            const std::map<int, std::vector<std::int64_t>>& outlines) const {
  std::int64_t total = 0;
  std::size_t rounds = 0;
  for (const auto& [id, lengths] : outlines) {
    for (std::int64_t n : lengths) total += n;
    rounds = std::max(rounds, lengths.size());
  }
  if (total <= capacity_ || c.empty()) return c;
  // The commit order (commit(): episode by episode, round-robin in member order); its oldest
  // total - C rows are overwritten within the commit. Which of them are this member's?
  std::int64_t left = total - capacity_, rows = 0, episodes = 0;
  for (std::size_t k = 0; k < rounds && left > 0; ++k)
    for (auto it = outlines.begin(); it != outlines.end() && left > 0; ++it) {
      if (k >= it->second.size()) continue;
      const std::int64_t take = std::min(left, it->second[k]);
      left -= take;
      if (it->first != member) continue;
      rows += take;
      if (take == it->second[k]) ++episodes;
    }
  const std::int64_t n = first_rows(c);
  if (rows > n) throw std::logic_error("replay pool: a contribution shorter than its outline");
  for (auto& nt : c) nt.tensor = nt.tensor.narrow(0, rows, n - rows).contiguous();
  c.push_back({"skip", torch::tensor({rows, episodes}, torch::kLong)});
  return c;
}

}  // namespace pbtnas::rl
