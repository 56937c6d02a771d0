#include "pbtnas/nn/weight_mutation.hpp"

#include <algorithm>
#include <cmath>

#include "pbtnas/core/seed.hpp"

namespace pbtnas {
namespace {

constexpr double kFraction = 0.1;        // SEARL num_mutation_frac (of the first dimension)
constexpr double kSuperProb = 0.05;      // super mutation
constexpr double kResetProb = 0.10;      // cumulative: reset to N(0, 1)
constexpr double kSuperStrength = 10.0;
constexpr double kStrength = 0.1;
constexpr double kClamp = 1e6;

bool is_candidate(const NamedTensor& nt, const std::vector<std::string>& groups) {
  bool in_group = false;
  for (const auto& g : groups) in_group = in_group || nt.name.compare(0, g.size(), g) == 0;
  return in_group && nt.tensor.defined() && nt.tensor.is_floating_point() && nt.tensor.dim() > 1 &&
         nt.name.find("norm") == std::string::npos;
}

// Mutates one tensor; returns the new tensor and adds the masked count to `masked`.
torch::Tensor mutate_tensor(const torch::Tensor& w, Rng& rng, std::int64_t& masked) {
  const std::int64_t n0 = w.size(0);
  if (n0 <= 0 || w.numel() == 0) return w;
  const auto hi = static_cast<std::uint64_t>(std::ceil(kFraction * static_cast<double>(n0)));
  const std::uint64_t m = rng.below(std::max<std::uint64_t>(hi, 1));
  if (m == 0) return w;  // SEARL quirk: may mutate nothing
  const double p = static_cast<double>(m) / static_cast<double>(n0);

  torch::Tensor work = w.detach().to(torch::kCPU, torch::kFloat64, /*non_blocking=*/false,
                                     /*copy=*/true, torch::MemoryFormat::Contiguous);
  double* v = work.data_ptr<double>();
  const std::int64_t n = work.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    if (rng.uniform() >= p) continue;
    ++masked;
    const double s = rng.uniform();
    double x = v[i];
    if (s < kSuperProb) x += rng.normal() * std::abs(kSuperStrength * x);
    else if (s < kResetProb) x = rng.normal();
    else x += rng.normal() * std::abs(kStrength * x);
    v[i] = std::clamp(x, -kClamp, kClamp);
  }
  return work.to(w.device(), w.scalar_type()).contiguous();
}

}  // namespace

std::int64_t mutate_weights(NamedState& state, std::uint64_t seed, const std::vector<std::string>& groups) {
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < state.size(); ++i)
    if (is_candidate(state[i], groups)) candidates.push_back(i);
  if (candidates.empty()) return 0;

  Rng rng(seed);
  const std::size_t nc = candidates.size();
  const std::size_t how_many = 1 + static_cast<std::size_t>(rng.below(nc));
  // Partial Fisher-Yates: the first how_many entries are a uniform draw without replacement.
  for (std::size_t j = 0; j < how_many; ++j) std::swap(candidates[j], candidates[j + rng.below(nc - j)]);

  torch::NoGradGuard no_grad;
  std::int64_t masked = 0;
  for (std::size_t j = 0; j < how_many; ++j) {
    NamedTensor& nt = state[candidates[j]];
    nt.tensor = mutate_tensor(nt.tensor, rng, masked);
  }
  return masked;
}

}  // namespace pbtnas
