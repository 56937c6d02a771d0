#include "pbtnas/tasks/gan/fid.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace pbtnas::gan {
namespace {

std::string shape_of(const torch::Tensor& t) {
  return t.defined() ? c10::str(t.sizes()) : std::string("(undefined)");
}

torch::Tensor to_cpu_double(const torch::Tensor& t) {
  return t.detach().to(torch::kCPU, torch::kDouble);
}

// Eigenvalues of a symmetric matrix with rounding negatives clamped to 0 (see kEigenTolerance).
torch::Tensor clamp_psd(const torch::Tensor& eigenvalues, double scale, const char* what) {
  const double lowest = eigenvalues.numel() ? eigenvalues.min().item<double>() : 0.0;
  if (std::isnan(lowest))
    throw std::runtime_error(std::string("frechet_distance: NaN eigenvalue of ") + what);
  if (lowest < -kEigenTolerance * scale)
    throw NotPositiveSemidefinite(std::string("frechet_distance: ") + what +
                                " has eigenvalue " + std::to_string(lowest) +
                                ", below the rounding tolerance -" +
                                std::to_string(kEigenTolerance * scale) +
                                "; the covariances are not positive semi-definite");
  return eigenvalues.clamp_min(0.0);
}

void check_stats(const FeatureStats& s, const char* which) {
  if (!s.mean.defined() || !s.cov.defined() || s.mean.dim() != 1 || s.cov.dim() != 2 ||
      s.cov.size(0) != s.mean.size(0) || s.cov.size(1) != s.mean.size(0))
    throw std::invalid_argument(std::string("frechet_distance: statistics ") + which +
                                " are malformed (mean " + shape_of(s.mean) + ", cov " +
                                shape_of(s.cov) + "); expected mean D and cov D x D");
}

}  // namespace

void FeatureStatsAccumulator::add(const torch::Tensor& batch) {
  if (!batch.defined() || batch.dim() != 2 || batch.size(0) < 1 || batch.size(1) < 1 ||
      !batch.is_floating_point())
    throw std::invalid_argument("FeatureStatsAccumulator::add: expected a floating N x D tensor "
                                "with N, D >= 1, got " + shape_of(batch));
  if (count_ > 0 && batch.size(1) != dim())
    throw std::invalid_argument("FeatureStatsAccumulator::add: batch has " +
                                std::to_string(batch.size(1)) + " features, earlier batches " +
                                std::to_string(dim()));
  const torch::Tensor x = to_cpu_double(batch);
  if (!torch::isfinite(x).all().item<bool>())
    throw std::invalid_argument(
        "FeatureStatsAccumulator::add: the batch holds NaN or infinite features (a diverged "
        "generator?); FID is undefined");
  const std::int64_t nb = x.size(0);
  const torch::Tensor mb = x.mean(0);
  const torch::Tensor xc = x - mb;
  const torch::Tensor m2b = xc.t().mm(xc);
  if (count_ == 0) {
    mean_ = mb;
    m2_ = m2b;
    count_ = nb;
    return;
  }
  const double na = static_cast<double>(count_);
  const double n = na + static_cast<double>(nb);
  const torch::Tensor delta = mb - mean_;
  mean_ = mean_ + delta * (static_cast<double>(nb) / n);
  m2_ = m2_ + m2b + torch::outer(delta, delta) * (na * static_cast<double>(nb) / n);
  count_ += nb;
}

FeatureStats FeatureStatsAccumulator::finalize() const {
  if (count_ < 2)
    throw std::logic_error("FeatureStatsAccumulator::finalize: needs >= 2 feature vectors for a "
                           "covariance, got " + std::to_string(count_));
  torch::Tensor cov = m2_ / static_cast<double>(count_ - 1);
  cov = (cov + cov.t()) * 0.5;  // exactly symmetric
  return FeatureStats{mean_.clone(), cov, count_};
}

FeatureStats compute_feature_stats(const torch::Tensor& features) {
  FeatureStatsAccumulator acc;
  acc.add(features);
  return acc.finalize();
}

double frechet_distance(const FeatureStats& a, const FeatureStats& b) {
  check_stats(a, "a");
  check_stats(b, "b");
  if (a.mean.size(0) != b.mean.size(0))
    throw std::invalid_argument("frechet_distance: feature dimensions differ (" +
                                std::to_string(a.mean.size(0)) + " vs " +
                                std::to_string(b.mean.size(0)) +
                                "); both statistics must come from the same feature extractor");
  torch::NoGradGuard no_grad;
  const torch::Tensor mu1 = to_cpu_double(a.mean), mu2 = to_cpu_double(b.mean);
  torch::Tensor s1 = to_cpu_double(a.cov), s2 = to_cpu_double(b.cov);
  s1 = (s1 + s1.t()) * 0.5;
  s2 = (s2 + s2.t()) * 0.5;

  // √Σ1 = Q diag(√w) Qᵀ.
  auto [w1, q1] = torch::linalg::eigh(s1, "L");
  const double max1 = w1.numel() ? w1.abs().max().item<double>() : 0.0;
  const double max2 =
      s2.numel() ? torch::linalg::eigvalsh(s2, "L").abs().max().item<double>() : 0.0;
  w1 = clamp_psd(w1, max1, "cov a");
  const torch::Tensor root1 = (q1 * w1.sqrt().unsqueeze(0)).mm(q1.t());

  // tr √(Σ1 Σ2) = Σ √λ(√Σ1 Σ2 √Σ1), a symmetric PSD matrix.
  torch::Tensor m = root1.mm(s2).mm(root1);
  m = (m + m.t()) * 0.5;
  const torch::Tensor lambda =
      clamp_psd(torch::linalg::eigvalsh(m, "L"), max1 * max2, "sqrt(cov a) cov b sqrt(cov a)");
  const double tr_covmean = lambda.sqrt().sum().item<double>();

  const torch::Tensor diff = mu1 - mu2;
  const double fid = diff.dot(diff).item<double>() + s1.trace().item<double>() +
                     s2.trace().item<double>() - 2.0 * tr_covmean;
  if (!std::isfinite(fid))
    throw std::runtime_error("frechet_distance: the result is not finite (" +
                             std::to_string(fid) + "); check the statistics for NaN/inf values");
  return fid;
}

InceptionScore inception_score_stats(const torch::Tensor& logits, int splits) {
  if (!logits.defined() || logits.dim() != 2 || logits.size(0) < 1 || logits.size(1) < 1 ||
      !logits.is_floating_point())
    throw std::invalid_argument("inception_score: expected floating N x K logits, got " +
                                shape_of(logits));
  if (splits < 1 || splits > logits.size(0))
    throw std::invalid_argument("inception_score: splits must be in 1.." +
                                std::to_string(logits.size(0)) + " (the number of rows), got " +
                                std::to_string(splits));
  torch::NoGradGuard no_grad;
  const torch::Tensor x = to_cpu_double(logits);
  if (!torch::isfinite(x).all().item<bool>())
    throw std::invalid_argument("inception_score: the logits hold NaN or infinite values");
  const torch::Tensor log_p = torch::log_softmax(x, 1);
  std::vector<double> scores;
  for (const torch::Tensor& lp : log_p.chunk(splits, 0)) {
    const torch::Tensor p = lp.exp();
    // log p(y) = log mean_x p(y|x), finite even where every p(y|x) underflows.
    const torch::Tensor log_py =
        torch::logsumexp(lp, {0}, true) - std::log(static_cast<double>(lp.size(0)));
    const torch::Tensor terms =
        torch::where(p > 0, p * (lp - log_py), torch::zeros_like(p));  // 0·log 0 = 0
    scores.push_back(std::exp(terms.sum(1).mean().item<double>()));
  }
  InceptionScore out;
  for (double s : scores) out.mean += s;
  out.mean /= static_cast<double>(scores.size());
  if (scores.size() > 1) {
    double ss = 0.0;
    for (double s : scores) ss += (s - out.mean) * (s - out.mean);
    out.stddev = std::sqrt(ss / static_cast<double>(scores.size() - 1));
  }
  if (!std::isfinite(out.mean) || !std::isfinite(out.stddev))
    throw std::runtime_error("inception_score: the result is not finite");
  return out;
}

double inception_score(const torch::Tensor& logits, int splits) {
  return inception_score_stats(logits, splits).mean;
}

torch::Tensor truncated_pixel_images(const torch::Tensor& images) {
  return images.mul(127.5).add_(127.5).clamp_(0.0, 255.0).floor_().sub_(127.5).div_(127.5);
}

}  // namespace pbtnas::gan
