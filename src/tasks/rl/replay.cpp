#include "pbtnas/tasks/rl/replay.hpp"

#include <cmath>
#include <stdexcept>

namespace pbtnas::rl {

NamedState ReplayBuffer::create(std::int64_t capacity, std::int64_t obs_dim, std::int64_t action_dim) {
  const std::string p = std::string(kName) + ".";
  return {{p + "obs", torch::zeros({capacity, obs_dim}, torch::kFloat)},
          {p + "action", torch::zeros({capacity, action_dim}, torch::kFloat)},
          {p + "reward", torch::zeros({capacity}, torch::kFloat)},
          {p + "first", torch::zeros({capacity}, torch::kUInt8)},
          {p + "state", torch::zeros({2}, torch::kLong)}};
}

ReplayBuffer::ReplayBuffer(NamedState& extra) {
  auto get = [&](const char* field) {
    const std::string name = std::string(kName) + "." + field;
    for (auto& e : extra)
      if (e.name == name) {
        if (!e.tensor.is_contiguous() || e.tensor.device() != torch::kCPU)
          throw std::logic_error("replay buffer entry '" + name + "' must be a contiguous CPU tensor");
        return e.tensor;
      }
    throw std::runtime_error("the member has no replay buffer entry '" + name + "'");
  };
  obs_ = get("obs");
  action_ = get("action");
  reward_ = get("reward");
  first_ = get("first");
  state_ = get("state");
  capacity_ = obs_.size(0);
  obs_dim_ = obs_.size(1);
  action_dim_ = action_.size(1);
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
