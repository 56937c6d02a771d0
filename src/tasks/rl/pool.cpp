#include "pbtnas/tasks/rl/pool.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace pbtnas::rl {
namespace {

const torch::Tensor& field(const NamedState& state, const std::string& name, const std::string& what) {
  const torch::Tensor* t = find_tensor(state, name);
  if (t == nullptr || !t->defined()) throw std::runtime_error(what + " has no tensor '" + name + "'");
  return *t;
}

// Same dtype and same shape of one row.
bool same_rows(const torch::Tensor& a, const torch::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.dim() == b.dim() && a.sizes().slice(1) == b.sizes().slice(1);
}

std::string row_text(const torch::Tensor& t) {
  std::string s = std::string(c10::toString(t.scalar_type())) + " [";
  for (std::int64_t d = 1; d < t.dim(); ++d) s += (d > 1 ? ", " : "") + std::to_string(t.size(d));
  return s + "]";
}

// The ring as the replay's row view (replay.hpp), whose sampling rules it shares.
ReplayRows as_rows(const RowRing& r) {
  ReplayRows x;
  x.obs = r.obs;
  x.action = r.action;
  x.reward = r.reward;
  x.first = r.first;
  x.size = r.size;
  x.capacity = r.capacity;
  x.oldest = r.size > 0 ? r.slot(0) : 0;
  return x;
}

constexpr const char* kPrefix = "shared.pool.";

}  // namespace

RowRing buffer_rows(const NamedState& extra) {
  const std::string p = std::string(ReplayBuffer::kName) + ".";
  RowRing r;
  r.obs = field(extra, p + "obs", "the member's replay buffer");
  r.action = field(extra, p + "action", "the member's replay buffer");
  r.reward = field(extra, p + "reward", "the member's replay buffer");
  r.first = field(extra, p + "first", "the member's replay buffer");
  const torch::Tensor& st = field(extra, p + "state", "the member's replay buffer");
  const std::int64_t* s = st.data_ptr<std::int64_t>();
  r.next = s[0];
  r.size = s[1];
  r.capacity = st.numel() >= 3 ? s[2] : r.obs.size(0);
  return r;
}

std::int64_t valid_transitions(const RowRing& ring, int nstep, int frame_stack) {
  const ReplayRows rows = as_rows(ring);
  std::int64_t n = 0;
  for (std::int64_t j = 0; j < ring.size; ++j) n += valid_transition(rows, j, nstep, frame_stack) ? 1 : 0;
  return n;
}

std::int64_t candidate_rows(const std::vector<RowRing>& rings, int nstep) {
  std::int64_t n = 0;
  for (const RowRing& r : rings) n += std::max<std::int64_t>(0, r.size - nstep);
  return n;
}

Batch sample_rings(const std::vector<RowRing>& rings, int batch, int nstep, double gamma, Rng& rng, int frame_stack) {
  const std::int64_t total = candidate_rows(rings, nstep);
  if (total < 1) throw std::logic_error("replay pool: too few steps to sample from");
  std::vector<ReplayRows> rows;
  for (const RowRing& r : rings) rows.push_back(as_rows(r));
  // Every ring holds rows of one layout; the batch is drawn as sample_transitions draws from one
  // ring, with the age index uniform over the candidates of all rings (the first ring first).
  std::vector<std::pair<std::size_t, std::int64_t>> drawn;  // (ring, age index) per batch row
  for (int i = 0; i < batch; ++i) {
    for (int tries = 0;; ++tries) {
      std::int64_t u = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(total)));
      std::size_t r = 0;
      for (; r < rings.size(); ++r) {
        const std::int64_t span = std::max<std::int64_t>(0, rings[r].size - nstep);
        if (u < span) break;
        u -= span;
      }
      if (valid_transition(rows[r], 1 + u, nstep, frame_stack)) {
        drawn.emplace_back(r, 1 + u);
        break;
      }
      if (tries > 100000) throw std::logic_error("replay pool: no valid n-step transition");
    }
  }
  return gather_transitions(rows, drawn, nstep, gamma, frame_stack);
}

ReplayPool::ReplayPool(std::int64_t capacity, const NamedState& layout, bool node_memory)
    : capacity_(capacity), node_memory_(node_memory) {
  if (capacity < 1) throw std::invalid_argument("replay pool: capacity must be at least 1");
  const RowRing r = buffer_rows(layout);
  obs_ = r.obs.narrow(0, 0, 0).clone();
  action_ = r.action.narrow(0, 0, 0).clone();
  reward_ = r.reward.narrow(0, 0, 0).clone();
  first_ = r.first.narrow(0, 0, 0).clone();
  member_ = torch::zeros({0}, torch::kInt);
}

RowRing ReplayPool::rows() const {
  RowRing r;
  r.obs = used(obs_);
  r.action = used(action_);
  r.reward = used(reward_);
  r.first = used(first_);
  r.next = next_;
  r.size = size_;
  r.capacity = capacity_;
  return r;
}

std::vector<int> ReplayPool::row_members() const {
  const RowRing r = rows();
  std::vector<int> m(static_cast<std::size_t>(size_));
  const std::int32_t* p = member_.data_ptr<std::int32_t>();
  for (std::int64_t j = 0; j < size_; ++j) m[static_cast<std::size_t>(j)] = p[r.slot(j)];
  return m;
}

NamedState ReplayPool::take_contribution(Member& member) {
  const std::string p = std::string(ReplayBuffer::kName) + ".";
  if (find_tensor(member.extra, p + "state") == nullptr) return {};  // collected nothing
  const RowRing r = buffer_rows(member.extra);
  std::vector<std::int64_t> slots(static_cast<std::size_t>(r.size));
  for (std::int64_t j = 0; j < r.size; ++j) slots[static_cast<std::size_t>(j)] = r.slot(j);
  const torch::Tensor idx = torch::tensor(slots, torch::kLong);
  NamedState c{{"obs", r.obs.index_select(0, idx).contiguous()},
               {"action", r.action.index_select(0, idx).contiguous()},
               {"reward", r.reward.index_select(0, idx).contiguous()},
               {"first", r.first.index_select(0, idx).contiguous()}};
  NamedState kept;
  for (auto& e : member.extra)
    if (e.name.compare(0, p.size(), p) != 0) kept.push_back(std::move(e));
  member.extra = std::move(kept);
  return c;
}

void ReplayPool::reserve(std::int64_t rows) {
  const std::int64_t have = allocated_;
  if (rows <= have) return;
  const std::int64_t chunk = std::max<std::int64_t>(capacity_ / 16, 1024);
  const std::int64_t n = std::min(capacity_, std::max(rows, have + chunk));
  allocated_ = n;
  if (placed()) return;  // the region holds C zero rows already
  auto grown = [&](const torch::Tensor& t) {
    std::vector<std::int64_t> s(t.sizes().begin(), t.sizes().end());
    s[0] = n;
    torch::Tensor g = torch::zeros(s, t.options());
    g.narrow(0, 0, have).copy_(t);
    return g;
  };
  obs_ = grown(obs_);
  action_ = grown(action_);
  reward_ = grown(reward_);
  first_ = grown(first_);
  member_ = grown(member_);
}

void ReplayPool::append(const NamedState& c, int member) {
  const std::string what = "the contribution of member " + std::to_string(member);
  const torch::Tensor& obs = field(c, "obs", what);
  const torch::Tensor& action = field(c, "action", what);
  const torch::Tensor& reward = field(c, "reward", what);
  const torch::Tensor& first = field(c, "first", what);
  const std::int64_t n = obs.size(0);
  if (!same_rows(obs, obs_) || !same_rows(action, action_) || !same_rows(reward, reward_) ||
      !same_rows(first, first_) || action.size(0) != n || reward.size(0) != n || first.size(0) != n)
    throw std::runtime_error("replay pool: " + what + " has rows " + row_text(obs) + " / " + row_text(action) +
                             ", the pool " + row_text(obs_) + " / " + row_text(action_));
  // Only the newest `capacity` rows of a long contribution can survive.
  std::int64_t from = std::max<std::int64_t>(0, n - capacity_);
  skip(from);
  while (from < n) {
    const std::int64_t k = std::min(n - from, capacity_ - next_);
    reserve(next_ + k);
    obs_.narrow(0, next_, k).copy_(obs.narrow(0, from, k));
    action_.narrow(0, next_, k).copy_(action.narrow(0, from, k));
    reward_.narrow(0, next_, k).copy_(reward.narrow(0, from, k));
    first_.narrow(0, next_, k).copy_(first.narrow(0, from, k));
    member_.narrow(0, next_, k).fill_(member);
    next_ = (next_ + k) % capacity_;
    size_ = std::min(size_ + k, capacity_);
    from += k;
  }
}

void ReplayPool::skip(std::int64_t rows) {
  next_ = (next_ + rows) % capacity_;
  size_ = std::min(size_ + rows, capacity_);
}

void ReplayPool::commit(const std::vector<Contribution>& contributions) {
  if (region_ && !region_->writable()) throw std::logic_error("replay pool: a reader of the node's pool commits");
  // Episode by episode, round-robin over the members in the given (member) order: the first
  // episode of every member, then the second of every member, ... So the pool's order follows
  // the members' time as concurrent writers would fill it, and FIFO drops the oldest episodes
  // of all members alike (not whole members) when a generation brings more than the capacity.
  // A trimmed contribution (trim()) starts `skip` = {rows, whole episodes} later: its rows left out
  // come first in the commit order, so they are skipped first, and its episodes keep their rounds.
  struct Episodes {
    int member;
    NamedState rows;
    std::size_t round0;                                         // the round of its first span
    std::vector<std::pair<std::int64_t, std::int64_t>> spans;  // [begin, end) rows
  };
  std::vector<Episodes> all;
  std::size_t rounds = 0;
  std::int64_t skipped = 0;
  for (const Contribution& c : contributions) {
    if (c.state.empty()) continue;
    Episodes e{c.member, {}, 0, {}};
    for (const auto& nt : c.state) {
      if (nt.name != "skip") {
        e.rows.push_back(nt);
        continue;
      }
      const torch::Tensor k = nt.tensor.to(torch::kLong).contiguous();
      if (k.numel() != 2) throw std::runtime_error("replay pool: a contribution's skip must hold 2 values");
      skipped += k.data_ptr<std::int64_t>()[0];
      e.round0 = static_cast<std::size_t>(k.data_ptr<std::int64_t>()[1]);
    }
    const torch::Tensor first =
        field(e.rows, "first", "the contribution of member " + std::to_string(c.member)).contiguous();
    const std::uint8_t* f = first.data_ptr<std::uint8_t>();
    const std::int64_t n = first.size(0);
    std::int64_t begin = 0;
    for (std::int64_t i = 1; i <= n; ++i)
      if (i == n || f[i]) {
        e.spans.emplace_back(begin, i);
        begin = i;
      }
    if (n == 0) continue;
    rounds = std::max(rounds, e.round0 + e.spans.size());
    all.push_back(std::move(e));
  }
  skip(skipped);
  if (skipped > 0) reserve(capacity_);  // the rows left out would have filled the ring
  for (std::size_t k = 0; k < rounds; ++k)
    for (const Episodes& e : all) {
      if (k < e.round0 || k - e.round0 >= e.spans.size()) continue;
      const auto [b, end] = e.spans[k - e.round0];
      NamedState rows;
      for (const auto& nt : e.rows) rows.push_back({nt.name, nt.tensor.narrow(0, b, end - b)});
      append(rows, e.member);
    }
  publish();
}

NamedState ReplayPool::export_state() const {
  const std::string p = kPrefix;
  return {{p + "obs", used(obs_)},
          {p + "action", used(action_)},
          {p + "reward", used(reward_)},
          {p + "first", used(first_)},
          {p + "member", used(member_)},
          {p + "state", torch::tensor({next_, size_, capacity_}, torch::kLong)}};
}

void ReplayPool::import_state(const NamedState& state) {
  const std::string p = kPrefix;
  const std::string what = "the shared replay pool's checkpoint";
  const torch::Tensor obs = field(state, p + "obs", what).contiguous();
  const torch::Tensor action = field(state, p + "action", what).contiguous();
  const torch::Tensor reward = field(state, p + "reward", what).contiguous();
  const torch::Tensor first = field(state, p + "first", what).contiguous();
  const torch::Tensor member = field(state, p + "member", what).contiguous();
  const torch::Tensor st = field(state, p + "state", what).to(torch::kLong).contiguous();
  if (st.numel() != 3) throw std::runtime_error(what + ": shared.pool.state must hold 3 values");
  const std::int64_t* s = st.data_ptr<std::int64_t>();
  const std::int64_t rows = obs.size(0);
  if (!same_rows(obs, obs_) || !same_rows(action, action_) || !same_rows(reward, reward_) ||
      !same_rows(first, first_) || member.scalar_type() != torch::kInt || action.size(0) != rows ||
      reward.size(0) != rows || first.size(0) != rows || member.size(0) != rows)
    throw std::runtime_error(what + " holds rows " + row_text(obs) + " / " + row_text(action) +
                             "; this run's environment makes " + row_text(obs_) + " / " + row_text(action_) +
                             " (was it written with another rl.env or rl.input?)");
  if (s[2] != capacity_)
    throw std::runtime_error(what + " has capacity " + std::to_string(s[2]) + ", rl.pool_capacity is " +
                             std::to_string(capacity_) + "; resume with the run's own config");
  if (rows > capacity_ || s[1] < 0 || s[1] > rows || s[0] < 0 || s[0] >= capacity_ ||
      (s[1] < capacity_ && s[0] != s[1]))
    throw std::runtime_error(what + " is inconsistent (state " + std::to_string(s[0]) + ", " + std::to_string(s[1]) +
                             ", " + std::to_string(s[2]) + " with " + std::to_string(rows) + " rows)");
  if (region_ && !region_->writable()) throw std::logic_error("replay pool: a reader of the node's pool imports");
  if (placed()) {
    const std::int64_t old = allocated_;
    for (auto [dst, src] : {std::pair{&obs_, &obs}, {&action_, &action}, {&reward_, &reward}, {&first_, &first},
                            {&member_, &member}}) {
      dst->narrow(0, 0, rows).copy_(*src);
      if (old > rows) dst->narrow(0, rows, old - rows).zero_();
    }
  } else {
    obs_ = obs.clone();
    action_ = action.clone();
    reward_ = reward.clone();
    first_ = first.clone();
    member_ = member.clone();
  }
  allocated_ = rows;
  next_ = s[0];
  size_ = s[1];
  publish();
}

std::vector<std::pair<std::string, std::int64_t>> ReplayPool::facts() const {
  return {{"steps", size_}, {"capacity", capacity_}, {"allocated", allocated()}};
}

}  // namespace pbtnas::rl
