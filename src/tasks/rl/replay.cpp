#include "pbtnas/tasks/rl/replay.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace pbtnas::rl {

NamedState ReplayBuffer::create(std::int64_t capacity, std::int64_t obs_dim, std::int64_t action_dim) {
  if (capacity < 1) throw std::invalid_argument("replay buffer: capacity must be at least 1");
  const std::string p = std::string(kName) + ".";
  return {{p + "obs", torch::zeros({0, obs_dim}, torch::kFloat)},
          {p + "action", torch::zeros({0, action_dim}, torch::kFloat)},
          {p + "reward", torch::zeros({0}, torch::kFloat)},
          {p + "first", torch::zeros({0}, torch::kUInt8)},
          {p + "state", torch::tensor({std::int64_t{0}, std::int64_t{0}, capacity}, torch::kLong)}};
}

NamedState ReplayBuffer::create_frames(std::int64_t capacity, const std::vector<std::int64_t>& frame_shape,
                                       std::int64_t action_dim) {
  NamedState s = create(capacity, 1, action_dim);
  std::vector<std::int64_t> shape{0};
  shape.insert(shape.end(), frame_shape.begin(), frame_shape.end());
  s[0].tensor = torch::zeros(shape, torch::kUInt8);
  return s;
}

torch::Tensor& ReplayBuffer::entry(const char* field) {
  const std::string name = std::string(kName) + "." + field;
  for (auto& e : *extra_)
    if (e.name == name) {
      if (!e.tensor.is_contiguous() || e.tensor.device() != torch::kCPU)
        throw std::logic_error("replay buffer entry '" + name + "' must be a contiguous CPU tensor");
      return e.tensor;
    }
  throw std::runtime_error("the member has no replay buffer entry '" + name + "'");
}

ReplayBuffer::ReplayBuffer(NamedState& extra) : extra_(&extra) {
  obs_ = entry("obs");
  action_ = entry("action");
  reward_ = entry("reward");
  first_ = entry("first");
  state_ = entry("state");
  if (obs_.scalar_type() != torch::kFloat && obs_.scalar_type() != torch::kUInt8)
    throw std::runtime_error("the member's replay buffer holds observations of an unknown type");
  obs_dim_ = obs_.dim() >= 2 ? obs_.size(1) : 0;
  frame_numel_ = 1;
  for (std::int64_t d = 1; d < obs_.dim(); ++d) frame_numel_ *= obs_.size(d);
  action_dim_ = action_.size(1);
  const std::int64_t* st = state_.data_ptr<std::int64_t>();
  capacity_ = state_.numel() >= 3 ? st[2] : obs_.size(0);
  if (capacity_ < 1 || obs_.size(0) > capacity_ || st[1] > obs_.size(0) || (st[1] < capacity_ && st[0] != st[1]))
    throw std::runtime_error("the member's replay buffer is inconsistent (capacity " + std::to_string(capacity_) + ", " +
                             std::to_string(obs_.size(0)) + " rows, " + std::to_string(st[1]) + " steps)");
}

void ReplayBuffer::grow() {
  const std::int64_t rows = obs_.size(0);
  const std::int64_t chunk = std::max<std::int64_t>(1024, capacity_ / 16);
  const std::int64_t next = std::min(capacity_, rows + chunk);
  auto extend = [&](const char* field) {
    torch::Tensor& t = entry(field);
    std::vector<std::int64_t> shape = t.sizes().vec();
    shape[0] = next;
    torch::Tensor bigger = torch::zeros(shape, t.options());
    bigger.slice(0, 0, rows).copy_(t);
    t = bigger;
    return bigger;
  };
  obs_ = extend("obs");
  action_ = extend("action");
  reward_ = extend("reward");
  first_ = extend("first");
}

std::int64_t ReplayBuffer::size() const { return state_.data_ptr<std::int64_t>()[1]; }

ReplayRows ReplayBuffer::rows() const {
  const std::int64_t* st = state_.data_ptr<std::int64_t>();
  ReplayRows r;
  r.obs = obs_;
  r.action = action_;
  r.reward = reward_;
  r.first = first_;
  r.size = st[1];
  r.capacity = capacity_;
  r.oldest = (st[0] - st[1] + capacity_) % capacity_;
  return r;
}

std::int64_t ReplayBuffer::begin_row(const float* action, double reward, bool first) {
  if (state_.data_ptr<std::int64_t>()[0] >= obs_.size(0)) grow();  // only while not full
  std::int64_t* st = state_.data_ptr<std::int64_t>();
  const std::int64_t k = st[0];
  float* a = action_.data_ptr<float>() + k * action_dim_;
  for (std::int64_t i = 0; i < action_dim_; ++i) a[i] = first ? 0.0f : action[i];
  reward_.data_ptr<float>()[k] = first ? 0.0f : static_cast<float>(reward);
  first_.data_ptr<std::uint8_t>()[k] = first ? 1 : 0;
  st[0] = (k + 1) % capacity_;
  st[1] = std::min(st[1] + 1, capacity_);
  return k;
}

void ReplayBuffer::add(const std::vector<double>& obs, const float* action, double reward, bool first) {
  if (pixels()) throw std::logic_error("replay buffer: this buffer holds frames; use add_frame");
  if (static_cast<std::int64_t>(obs.size()) != obs_dim_)
    throw std::logic_error("replay buffer: observation of the wrong size");
  const std::int64_t k = begin_row(action, reward, first);
  float* o = obs_.data_ptr<float>() + k * obs_dim_;
  for (std::int64_t i = 0; i < obs_dim_; ++i) o[i] = static_cast<float>(obs[static_cast<std::size_t>(i)]);
}

void ReplayBuffer::add_frame(const std::uint8_t* frame, const float* action, double reward, bool first) {
  if (!pixels()) throw std::logic_error("replay buffer: this buffer holds state observations; use add");
  const std::int64_t k = begin_row(action, reward, first);
  std::copy(frame, frame + frame_numel_, obs_.data_ptr<std::uint8_t>() + k * frame_numel_);
}

std::int64_t ReplayBuffer::valid_transitions(int nstep, int frame_stack) const {
  const ReplayRows r = rows();
  std::int64_t n = 0;
  for (std::int64_t j = 0; j < r.size; ++j) n += valid_transition(r, j, nstep, frame_stack) ? 1 : 0;
  return n;
}

Batch ReplayBuffer::sample(int batch, int nstep, double gamma, Rng& rng, int frame_stack) const {
  return sample_transitions(rows(), batch, nstep, gamma, frame_stack, rng);
}

// ---- sampling over any set of rows ----

std::vector<std::int64_t> stack_indices(const ReplayRows& rows, std::int64_t i, int frame_stack) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(frame_stack));
  const std::uint8_t* f = rows.first.data_ptr<std::uint8_t>();
  std::int64_t cur = i;
  // Newest last: walk back from i, stopping at the episode's first step (repeated from there on).
  for (int s = frame_stack - 1; s >= 0; --s) {
    out[static_cast<std::size_t>(s)] = cur;
    if (s > 0 && !f[rows.row(cur)]) --cur;
  }
  return out;
}

bool valid_transition(const ReplayRows& rows, std::int64_t j, int nstep, int frame_stack) {
  // Needs the previous step (its observation) and n steps of the same episode, all still stored.
  if (j < 1 || j + nstep > rows.size) return false;
  const std::uint8_t* f = rows.first.data_ptr<std::uint8_t>();
  for (int i = 0; i < nstep; ++i)
    if (f[rows.row(j + i)]) return false;
  // The frames behind the previous step's observation: back to the episode's first step or
  // frame_stack - 1 steps, whichever comes first, must still be stored.
  std::int64_t cur = j - 1;
  for (int s = 1; s < frame_stack; ++s) {
    if (f[rows.row(cur)]) break;
    if (--cur < 0) return false;
  }
  return true;
}

Batch gather_transitions(const std::vector<ReplayRows>& rings,
                         const std::vector<std::pair<std::size_t, std::int64_t>>& drawn, int nstep, double gamma,
                         int frame_stack) {
  if (frame_stack < 1) throw std::logic_error("replay buffer: frame stack must be at least 1");
  const ReplayRows& first_ring = rings.front();
  const bool pixels = first_ring.obs.scalar_type() == torch::kUInt8;
  if (!pixels && frame_stack != 1) throw std::logic_error("replay buffer: frame stacks need frame rows");
  const auto batch = static_cast<std::int64_t>(drawn.size());
  const std::int64_t action_dim = first_ring.action.size(1);
  std::int64_t frame_numel = 1;
  for (std::int64_t d = 1; d < first_ring.obs.dim(); ++d) frame_numel *= first_ring.obs.size(d);
  Batch b;
  std::vector<std::int64_t> obs_shape{batch};
  if (pixels) {
    obs_shape.push_back(first_ring.obs.size(1) * frame_stack);
    for (std::int64_t d = 2; d < first_ring.obs.dim(); ++d) obs_shape.push_back(first_ring.obs.size(d));
  } else {
    obs_shape.push_back(frame_numel);
  }
  b.obs = torch::empty(obs_shape, first_ring.obs.options());
  b.next_obs = torch::empty(obs_shape, first_ring.obs.options());
  b.action = torch::empty({batch, action_dim});
  b.reward = torch::empty({batch, 1});
  b.discount = torch::full({batch, 1}, static_cast<float>(std::pow(gamma, nstep)));
  const std::size_t elem = first_ring.obs.element_size();
  const std::size_t frame_bytes = static_cast<std::size_t>(frame_numel) * elem;
  const std::size_t obs_bytes = frame_bytes * static_cast<std::size_t>(frame_stack);
  auto* bo = static_cast<std::uint8_t*>(b.obs.data_ptr());
  auto* bn = static_cast<std::uint8_t*>(b.next_obs.data_ptr());
  for (std::int64_t i = 0; i < batch; ++i) {
    const ReplayRows& rows = rings.at(drawn[static_cast<std::size_t>(i)].first);
    const std::int64_t j = drawn[static_cast<std::size_t>(i)].second;
    const auto* o = static_cast<const std::uint8_t*>(rows.obs.data_ptr());
    const float* a = rows.action.data_ptr<float>();
    const float* r = rows.reward.data_ptr<float>();
    auto put_stack = [&](std::uint8_t* dst, std::int64_t at) {
      const std::vector<std::int64_t> idx = stack_indices(rows, at, frame_stack);
      for (int s = 0; s < frame_stack; ++s) {
        const std::int64_t row = rows.row(idx[static_cast<std::size_t>(s)]);
        std::memcpy(dst + static_cast<std::size_t>(s) * frame_bytes, o + static_cast<std::size_t>(row) * frame_bytes,
                    frame_bytes);
      }
    };
    put_stack(bo + static_cast<std::size_t>(i) * obs_bytes, j - 1);
    put_stack(bn + static_cast<std::size_t>(i) * obs_bytes, j + nstep - 1);
    const std::int64_t k = rows.row(j);
    std::copy(a + k * action_dim, a + (k + 1) * action_dim, b.action.data_ptr<float>() + i * action_dim);
    double ret = 0, g = 1;
    for (int s = 0; s < nstep; ++s) {
      ret += g * r[rows.row(j + s)];
      g *= gamma;
    }
    b.reward.data_ptr<float>()[i] = static_cast<float>(ret);
  }
  return b;
}

Batch sample_transitions(const ReplayRows& rows, int batch, int nstep, double gamma, int frame_stack, Rng& rng) {
  const std::int64_t span = rows.size - nstep;  // candidate age indices 1..span
  if (span < 1) throw std::logic_error("replay buffer: too few steps to sample from");
  std::vector<std::pair<std::size_t, std::int64_t>> drawn;
  for (int i = 0; i < batch; ++i) {
    std::int64_t j = 0;
    for (int tries = 0;; ++tries) {
      j = 1 + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(span)));
      if (valid_transition(rows, j, nstep, frame_stack)) break;
      if (tries > 100000) throw std::logic_error("replay buffer: no valid n-step transition");
    }
    drawn.emplace_back(0, j);
  }
  return gather_transitions({rows}, drawn, nstep, gamma, frame_stack);
}

}  // namespace pbtnas::rl
