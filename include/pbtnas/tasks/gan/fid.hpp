#pragma once
// Fréchet Inception Distance and Inception Score on precomputed features/logits
// (docs/algorithm.md, "GAN fitness and final evaluation"). The Inception network itself
// (clean-fid's legacy_tensorflow features, torch-fidelity logits) is NOT part of this file; see
// docs/gan.md.
//
// FID (Heusel et al. 2017) between Gaussians N(μ1, Σ1) and N(μ2, Σ2):
//   ‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2 tr √(Σ1 Σ2)
// computed as tr √(√Σ1 Σ2 √Σ1) (same eigenvalues as Σ1 Σ2) with two symmetric eigendecompositions
// in float64, instead of clean-fid's scipy.linalg.sqrtm of the non-symmetric product.
//
// IS (Salimans et al. 2016), as torchmetrics' InceptionScore computes it from logits:
//   the rows are cut into `splits` chunks (torch.chunk), and for each chunk
//   exp(mean_x KL(p(y|x) ‖ p(y))) with p(y) the chunk's mean of p(y|x); result = mean over
//   chunks, std = unbiased std over chunks. torchmetrics first shuffles the rows with the global
//   RNG; here the rows are used in the given order (shuffle before calling to match it).
#include <cstdint>
#include <stdexcept>

#include <torch/torch.h>

namespace pbtnas::gan {

// Gaussian statistics of N feature vectors of dimension D, in float64 on the CPU.
struct FeatureStats {
  torch::Tensor mean;  // D
  torch::Tensor cov;   // D x D, unbiased (divides by count - 1), like np.cov(rowvar=False)
  std::int64_t count = 0;
};

// Mean and covariance over batches of features, merged with Chan et al.'s pairwise update (each
// batch centred on its own mean, so large offsets do not cancel catastrophically).
class FeatureStatsAccumulator {
 public:
  // batch: N x D (N >= 1) floating tensor on any device; converted to CPU float64. Every batch
  // must have the same D. Throws std::invalid_argument otherwise or on non-finite values.
  void add(const torch::Tensor& batch);
  std::int64_t count() const { return count_; }
  std::int64_t dim() const { return mean_.defined() ? mean_.size(0) : 0; }
  // Throws std::logic_error when fewer than 2 rows were added (the covariance is undefined).
  FeatureStats finalize() const;

 private:
  torch::Tensor mean_;  // running mean, D
  torch::Tensor m2_;    // sum of outer products of deviations from the running mean, D x D
  std::int64_t count_ = 0;
};

// One-shot statistics of an N x D tensor (N >= 2).
FeatureStats compute_feature_stats(const torch::Tensor& features);

// Eigenvalues that fall below zero by rounding are clamped to 0 when they are >= -kEigenTolerance
// * scale, with scale = λmax(Σ1) for Σ1 and λmax(Σ1)·λmax(Σ2) for √Σ1 Σ2 √Σ1 (float64 eigh errors
// are ~D·1e-16 of that scale). More negative ones mean a covariance is not positive
// semi-definite and throw NotPositiveSemidefinite.
inline constexpr double kEigenTolerance = 1e-8;

// The statistics of a member's samples are numerically unusable (a covariance that is not
// positive semi-definite): a property of the member, not a bug, so GanTask's fitness turns it
// into NaN and the member is treated as diverged (replaced), like a non-finite loss.
class NotPositiveSemidefinite : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws std::invalid_argument when the statistics are malformed (mean not 1-D, cov not D x D)
// or their dimensions differ, NotPositiveSemidefinite (a std::runtime_error) for covariances
// that are not positive semi-definite, and std::runtime_error when the result is NaN/inf. The result is
// not clamped: identical inputs give 0 up to rounding (~1e-12 of the trace), possibly negative.
double frechet_distance(const FeatureStats& a, const FeatureStats& b);

struct InceptionScore {
  double mean = 0.0;
  double stddev = 0.0;  // unbiased, across chunks; 0 when there is only one chunk
};

// logits: N x K (K >= 1 classes) of finite values, any floating dtype; 1 <= splits <= N. As
// torch.chunk, each chunk has ceil(N / splits) rows, so there are fewer than `splits` chunks when
// N is not a multiple. Computed in float64 from log_softmax (p(y) via logsumexp, 0·log 0 = 0).
// Throws std::invalid_argument on bad shapes/arguments and std::runtime_error when the result is
// not finite.
InceptionScore inception_score_stats(const torch::Tensor& logits, int splits = 10);
double inception_score(const torch::Tensor& logits, int splits = 10);

// The images the released code gives the Inception Score: pixels x * 127.5 + 127.5 clamped to
// [0, 255] and truncated to integers (a uint8 cast), mapped back to [-1, 1] so that any
// FeatureNet can take them (feature networks that round to pixel levels keep these exactly).
// The FID path quantises by rounding instead (docs/algorithm.md, "GAN fitness and final
// evaluation").
torch::Tensor truncated_pixel_images(const torch::Tensor& images_in_minus1_1);

}  // namespace pbtnas::gan
