#include "pbtnas/tasks/rl/replay.hpp"

#include <algorithm>
#include <cmath>
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
  obs_dim_ = obs_.size(1);
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

std::int64_t ReplayBuffer::slot(std::int64_t j) const {
  const std::int64_t* st = state_.data_ptr<std::int64_t>();
  const std::int64_t oldest = (st[0] - st[1] + capacity_) % capacity_;
  return (oldest + j) % capacity_;
}

void ReplayBuffer::add(const std::vector<double>& obs, const float* action, double reward, bool first) {
  if (static_cast<std::int64_t>(obs.size()) != obs_dim_)
    throw std::logic_error("replay buffer: observation of the wrong size");
  if (state_.data_ptr<std::int64_t>()[0] >= obs_.size(0)) grow();  // only while not full
  std::int64_t* st = state_.data_ptr<std::int64_t>();
  const std::int64_t k = st[0];
  float* o = obs_.data_ptr<float>() + k * obs_dim_;
  for (std::int64_t i = 0; i < obs_dim_; ++i) o[i] = static_cast<float>(obs[static_cast<std::size_t>(i)]);
  float* a = action_.data_ptr<float>() + k * action_dim_;
  for (std::int64_t i = 0; i < action_dim_; ++i) a[i] = first ? 0.0f : action[i];
  reward_.data_ptr<float>()[k] = first ? 0.0f : static_cast<float>(reward);
  first_.data_ptr<std::uint8_t>()[k] = first ? 1 : 0;
  st[0] = (k + 1) % capacity_;
  st[1] = std::min(st[1] + 1, capacity_);
}

bool ReplayBuffer::valid(std::int64_t j, int nstep) const {
  // Needs the previous step (its observation) and n steps of the same episode, all still stored.
  if (j < 1 || j + nstep > size()) return false;
  const std::uint8_t* f = first_.data_ptr<std::uint8_t>();
  for (int i = 0; i < nstep; ++i)
    if (f[slot(j + i)]) return false;
  return true;
}

std::int64_t ReplayBuffer::valid_transitions(int nstep) const {
  std::int64_t n = 0;
  for (std::int64_t j = 0; j < size(); ++j) n += valid(j, nstep) ? 1 : 0;
  return n;
}

Batch ReplayBuffer::sample(int batch, int nstep, double gamma, Rng& rng) const {
  const std::int64_t span = size() - nstep;  // candidate age indices 1..span
  if (span < 1) throw std::logic_error("replay buffer: too few steps to sample from");
  Batch b;
  b.obs = torch::empty({batch, obs_dim_});
  b.next_obs = torch::empty({batch, obs_dim_});
  b.action = torch::empty({batch, action_dim_});
  b.reward = torch::empty({batch, 1});
  b.discount = torch::full({batch, 1}, static_cast<float>(std::pow(gamma, nstep)));
  const float* o = obs_.data_ptr<float>();
  const float* a = action_.data_ptr<float>();
  const float* r = reward_.data_ptr<float>();
  for (int i = 0; i < batch; ++i) {
    std::int64_t j = 0;
    for (int tries = 0;; ++tries) {
      j = 1 + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(span)));
      if (valid(j, nstep)) break;
      if (tries > 100000) throw std::logic_error("replay buffer: no valid n-step transition");
    }
    const std::int64_t prev = slot(j - 1), k = slot(j), last = slot(j + nstep - 1);
    std::copy(o + prev * obs_dim_, o + (prev + 1) * obs_dim_, b.obs.data_ptr<float>() + i * obs_dim_);
    std::copy(o + last * obs_dim_, o + (last + 1) * obs_dim_, b.next_obs.data_ptr<float>() + i * obs_dim_);
    std::copy(a + k * action_dim_, a + (k + 1) * action_dim_, b.action.data_ptr<float>() + i * action_dim_);
    double ret = 0, g = 1;
    for (int s = 0; s < nstep; ++s) {
      ret += g * r[slot(j + s)];
      g *= gamma;
    }
    b.reward.data_ptr<float>()[i] = static_cast<float>(ret);
  }
  return b;
}

}  // namespace pbtnas::rl
