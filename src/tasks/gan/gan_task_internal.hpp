#pragma once
// Helpers shared by the GAN task's sources (gan_data.cpp, gan_task.cpp, gan_eval.cpp).
#include <ATen/CPUGeneratorImpl.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "pbtnas/util/paths.hpp"
#include "pbtnas/tasks/gan/gan_task.hpp"

namespace pbtnas::gan::detail {


namespace F = torch::nn::functional;

// The member's stored fitness, Member::extra "eval.neg_fid" (a double scalar; GanTask::create
// adds it, GanTask::train sets it).
constexpr const char* kStoredFitness = "eval.neg_fid";
inline torch::Tensor& stored_fitness(Member& member) {
  for (auto& e : member.extra)
    if (e.name == kStoredFitness) return e.tensor;
  throw std::invalid_argument(
      "gan task: the member has no stored fitness (extra eval.neg_fid); create members with "
      "GanTask::create");
}

inline at::Generator local_generator(std::uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

inline std::shared_ptr<GanNetImpl> net_of(const Member& member) {
  auto net = std::dynamic_pointer_cast<GanNetImpl>(member.model);
  if (!net)
    throw std::invalid_argument(
        "gan task: the member's model is not a GanNet; create members with GanTask::create");
  return net;
}

inline std::shared_ptr<GanEmaImpl> ema_of(const Member& member) {
  auto ema = std::dynamic_pointer_cast<GanEmaImpl>(member.average);
  if (!ema)
    throw std::invalid_argument(
        "gan task: the member has no EMA generator (average); create members with "
        "GanTask::create");
  return ema;
}

// (ema parameter, live parameter) pairs, matched by name.
inline std::vector<std::pair<torch::Tensor, torch::Tensor>> ema_pairs(GanEmaImpl& ema,
                                                               GanGeneratorImpl& live) {
  const auto avg = ema.generator->named_parameters();
  const auto cur = live.named_parameters();
  if (avg.size() != cur.size())
    throw std::logic_error("gan task: the EMA generator and the generator differ in parameters");
  std::vector<std::pair<torch::Tensor, torch::Tensor>> out;
  for (const auto& item : avg) {
    const torch::Tensor* p = cur.find(item.key());
    if (!p || p->sizes() != item.value().sizes())
      throw std::logic_error("gan task: the generator has no parameter matching EMA tensor " +
                             item.key());
    out.emplace_back(item.value(), *p);
  }
  return out;
}

// The GanHard projections apply dropout through F::dropout, which draws from the default
// (global) generator of the device. For reproducible training the default generator is re-seeded
// from the task seed at each epoch and its previous state is restored afterwards.
class DefaultGeneratorScope {
 public:
  explicit DefaultGeneratorScope(torch::Device device)
      : gen_(at::globalContext().defaultGenerator(device)) {
    std::lock_guard<std::mutex> lock(gen_.mutex());
    saved_ = gen_.get_state();
  }
  void reseed(std::uint64_t seed) {
    std::lock_guard<std::mutex> lock(gen_.mutex());
    gen_.set_current_seed(seed);
  }
  ~DefaultGeneratorScope() {
    try {
      std::lock_guard<std::mutex> lock(gen_.mutex());
      gen_.set_state(saved_);
    } catch (...) {
    }
  }
  DefaultGeneratorScope(const DefaultGeneratorScope&) = delete;
  DefaultGeneratorScope& operator=(const DefaultGeneratorScope&) = delete;

 private:
  at::Generator gen_;
  torch::Tensor saved_;
};

// Puts the EMA parameters into the live generator (eval mode) and restores it on destruction
// (BatchNorm running statistics stay the live generator's: Q12 in docs/algorithm.md).
class EmaSwap {
 public:
  EmaSwap(GanGeneratorImpl& live, GanEmaImpl& ema) : live_(live), was_training_(live.is_training()) {
    torch::NoGradGuard no_grad;
    pairs_ = ema_pairs(ema, live);
    for (auto& [avg, p] : pairs_) {
      saved_.push_back(p.detach().clone());
      p.detach().copy_(avg.detach());
    }
    live_.eval();
  }
  ~EmaSwap() {
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < saved_.size(); ++i) pairs_[i].second.detach().copy_(saved_[i]);
    live_.train(was_training_);
  }
  EmaSwap(const EmaSwap&) = delete;
  EmaSwap& operator=(const EmaSwap&) = delete;

 private:
  GanGeneratorImpl& live_;
  bool was_training_;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> pairs_;
  std::vector<torch::Tensor> saved_;
};


}  // namespace pbtnas::gan::detail
