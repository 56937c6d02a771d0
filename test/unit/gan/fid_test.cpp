// FID on Gaussian statistics against independent closed forms, the feature-statistics
// accumulator against torch::cov, and the Inception Score on constructed predictions.
#include "pbtnas/tasks/gan/fid.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "support/seed.hpp"

using namespace pbtnas::gan;

namespace {

at::Generator input_generator() {
  return at::make_generator<at::CPUGeneratorImpl>(pbtnas::test::test_seed());
}

torch::Tensor randn(std::vector<std::int64_t> shape, at::Generator& gen) {
  return torch::empty(shape, torch::kDouble).normal_(0.0, 1.0, gen);
}

torch::Tensor random_orthogonal(std::int64_t d, at::Generator& gen) {
  return std::get<0>(torch::linalg::qr(randn({d, d}, gen)));
}

FeatureStats stats(torch::Tensor mean, torch::Tensor cov) {
  return FeatureStats{std::move(mean), std::move(cov), 1000};
}

// Σ(√a − √b)² + ‖μ1 − μ2‖²: FID of two Gaussians whose covariances share eigenvectors.
double commuting_fid(const torch::Tensor& mu1, const torch::Tensor& mu2, const torch::Tensor& a,
                     const torch::Tensor& b) {
  return (mu1 - mu2).pow(2).sum().item<double>() + (a.sqrt() - b.sqrt()).pow(2).sum().item<double>();
}

double rel_err(double got, double want) { return std::abs(got - want) / std::abs(want); }

}  // namespace

TEST_CASE("FID of a set against itself is zero", "[gan][fid]") {
  auto gen = input_generator();
  const torch::Tensor mix = randn({16, 16}, gen);
  const torch::Tensor x = randn({400, 16}, gen).mm(mix) * 5.0 + 3.0;
  const FeatureStats s = compute_feature_stats(x);
  const double scale = s.cov.trace().item<double>();
  CHECK(std::abs(frechet_distance(s, s)) < 1e-6 * scale);
  // Rank-deficient covariance (fewer samples than dimensions) as with FID-5k on 2048 features.
  const FeatureStats r = compute_feature_stats(randn({10, 40}, gen));
  CHECK(std::abs(frechet_distance(r, r)) < 1e-6 * r.cov.trace().item<double>());
}

TEST_CASE("FID of diagonal Gaussians matches the closed form", "[gan][fid]") {
  auto gen = input_generator();
  const torch::Tensor a = torch::rand({12}, gen, torch::kDouble) * 4 + 0.1;
  const torch::Tensor b = torch::rand({12}, gen, torch::kDouble) * 4 + 0.1;
  const torch::Tensor mu1 = randn({12}, gen), mu2 = randn({12}, gen);
  const double want = commuting_fid(mu1, mu2, a, b);
  CHECK(rel_err(frechet_distance(stats(mu1, torch::diag(a)), stats(mu2, torch::diag(b))), want) <
        1e-10);
  // Hand-computed: μ = (0,0) vs (1,2); Σ = diag(4, 9) vs diag(1, 1): 5 + (2-1)² + (3-1)² = 10.
  const auto d = torch::kDouble;
  CHECK(frechet_distance(stats(torch::zeros({2}, d), torch::diag(torch::tensor({4.0, 9.0}, d))),
                         stats(torch::tensor({1.0, 2.0}, d), torch::eye(2, d))) ==
        Approx(10.0).epsilon(1e-12));
}

TEST_CASE("FID of rotated (commuting, non-diagonal) Gaussians matches the closed form",
          "[gan][fid]") {
  auto gen = input_generator();
  const std::int64_t dim = 20;
  const torch::Tensor r = random_orthogonal(dim, gen);
  const torch::Tensor a = torch::rand({dim}, gen, torch::kDouble) * 3 + 0.01;
  torch::Tensor b = torch::rand({dim}, gen, torch::kDouble) * 3 + 0.01;
  b[0] = 0.0;  // one singular direction: exercises the clamp of rounding negatives
  const torch::Tensor s1 = (r * a.unsqueeze(0)).mm(r.t());
  const torch::Tensor s2 = (r * b.unsqueeze(0)).mm(r.t());
  const torch::Tensor mu1 = randn({dim}, gen), mu2 = randn({dim}, gen);
  const double want = commuting_fid(mu1, mu2, a, b);
  // The zero eigenvalue comes back as ~±1e-16 of the scale; its square root (~1e-8) bounds the
  // accuracy, as for any matrix square root of a singular matrix.
  CHECK(rel_err(frechet_distance(stats(mu1, s1), stats(mu2, s2)), want) < 1e-7);
  b[0] = 0.5;
  const torch::Tensor s2_full = (r * b.unsqueeze(0)).mm(r.t());
  CHECK(rel_err(frechet_distance(stats(mu1, s1), stats(mu2, s2_full)),
                commuting_fid(mu1, mu2, a, b)) < 1e-10);
}

TEST_CASE("FID of non-commuting 2x2 covariances matches the 2x2 matrix square-root formula",
          "[gan][fid]") {
  // For 2x2 M with eigenvalues λ1, λ2 >= 0: tr √M = √(tr M + 2 √det M).
  auto gen = input_generator();
  for (int trial = 0; trial < 5; ++trial) {
    const torch::Tensor l1 = randn({2, 2}, gen), l2 = randn({2, 2}, gen);
    const torch::Tensor s1 = l1.mm(l1.t()) + 0.1 * torch::eye(2, torch::kDouble);
    const torch::Tensor s2 = l2.mm(l2.t()) + 0.1 * torch::eye(2, torch::kDouble);
    const torch::Tensor mu1 = randn({2}, gen), mu2 = randn({2}, gen);
    const double tr_sqrt =
        std::sqrt(s1.mm(s2).trace().item<double>() +
                  2.0 * std::sqrt(s1.det().item<double>() * s2.det().item<double>()));
    const double want = (mu1 - mu2).pow(2).sum().item<double>() + s1.trace().item<double>() +
                        s2.trace().item<double>() - 2.0 * tr_sqrt;
    CHECK(rel_err(frechet_distance(stats(mu1, s1), stats(mu2, s2)), want) < 1e-9);
  }
}

TEST_CASE("FID is symmetric", "[gan][fid]") {
  auto gen = input_generator();
  const FeatureStats a = compute_feature_stats(randn({300, 10}, gen).mm(randn({10, 10}, gen)));
  const FeatureStats b = compute_feature_stats(randn({200, 10}, gen) * 2.0 + 1.0);
  const double ab = frechet_distance(a, b), ba = frechet_distance(b, a);
  CHECK(ab > 0.0);
  CHECK(rel_err(ab, ba) < 1e-9);
}

TEST_CASE("feature statistics accumulate over batches like np.cov(rowvar=False)",
          "[gan][fid]") {
  auto gen = input_generator();
  // A large common offset: naive sum-of-squares accumulation would lose digits.
  const torch::Tensor x = randn({257, 6}, gen).mm(randn({6, 6}, gen)) + 1e4;
  const torch::Tensor want_cov = torch::cov(x.t());  // rows are variables, correction 1
  FeatureStatsAccumulator acc;
  for (const auto& batch : x.split(50, 0)) acc.add(batch);
  const FeatureStats s = acc.finalize();
  CHECK(s.count == 257);
  CHECK(s.mean.scalar_type() == torch::kDouble);
  CHECK(torch::allclose(s.mean, x.mean(0), 1e-12, 1e-9));
  CHECK(torch::allclose(s.cov, want_cov, 1e-9, 1e-9));
  CHECK(torch::equal(s.cov, s.cov.t()));
  const FeatureStats once = compute_feature_stats(x);
  CHECK(torch::allclose(once.cov, want_cov, 1e-9, 1e-9));
  // float32 input is converted to float64.
  FeatureStatsAccumulator f;
  f.add(torch::ones({3, 2}, torch::kFloat));
  CHECK(f.finalize().cov.scalar_type() == torch::kDouble);
}

TEST_CASE("FID and the accumulator reject malformed input", "[gan][fid]") {
  const auto d = torch::kDouble;
  const FeatureStats a = stats(torch::zeros({3}, d), torch::eye(3, d));
  const FeatureStats b = stats(torch::zeros({4}, d), torch::eye(4, d));
  CHECK_THROWS_AS(frechet_distance(a, b), std::invalid_argument);
  CHECK_THROWS_AS(frechet_distance(a, stats(torch::zeros({3}, d), torch::eye(4, d))),
                  std::invalid_argument);
  CHECK_THROWS_AS(frechet_distance(a, FeatureStats{}), std::invalid_argument);
  // Not positive semi-definite: a runtime condition of the member's samples (GanTask::fid turns
  // it into NaN, so the member counts as diverged), not an invalid argument.
  CHECK_THROWS_AS(frechet_distance(stats(torch::zeros({2}, d), torch::diag(torch::tensor({1.0, -1.0}, d))),
                                   stats(torch::zeros({2}, d), torch::eye(2, d))),
                  NotPositiveSemidefinite);
  // NaN result.
  CHECK_THROWS_AS(frechet_distance(stats(torch::full({3}, std::nan(""), d), torch::eye(3, d)), a),
                  std::runtime_error);

  FeatureStatsAccumulator acc;
  CHECK_THROWS_AS(acc.finalize(), std::logic_error);
  acc.add(torch::zeros({1, 3}));
  CHECK_THROWS_AS(acc.finalize(), std::logic_error);
  CHECK_THROWS_AS(acc.add(torch::zeros({2, 4})), std::invalid_argument);
  CHECK_THROWS_AS(acc.add(torch::zeros({3})), std::invalid_argument);
  CHECK_THROWS_AS(acc.add(torch::full({2, 3}, std::nan(""))), std::invalid_argument);
}

TEST_CASE("Inception Score of uniform predictions is 1", "[gan][inception_score]") {
  const InceptionScore s = inception_score_stats(torch::zeros({100, 10}), 10);
  CHECK(s.mean == Approx(1.0).epsilon(1e-12));
  CHECK(s.stddev == Approx(0.0).margin(1e-12));
  auto gen = input_generator();
  // Identical rows (any distribution) also give 1: p(y|x) = p(y).
  const torch::Tensor row = randn({1, 7}, gen);
  CHECK(inception_score(row.expand({40, 7}).contiguous(), 4) == Approx(1.0).epsilon(1e-12));
}

TEST_CASE("Inception Score of confident predictions spread evenly over K classes is K",
          "[gan][inception_score]") {
  const int k = 10;
  for (double confidence : {50.0, 2000.0}) {  // 2000: the other classes underflow to p = 0
    torch::Tensor logits = torch::zeros({1000, k});
    for (int i = 0; i < 1000; ++i) logits[i][i % k] = confidence;
    const InceptionScore s = inception_score_stats(logits, 10);
    CHECK(s.mean == Approx(k).epsilon(1e-9));
    CHECK(s.stddev == Approx(0.0).margin(1e-9));
  }
}

TEST_CASE("Inception Score matches a direct per-chunk computation", "[gan][inception_score]") {
  auto gen = input_generator();
  const torch::Tensor logits = randn({25, 6}, gen) * 3.0;
  // 25 rows, 10 splits: torch.chunk makes 9 chunks of 3 rows (the last has 1).
  std::vector<double> scores;
  for (const auto& c : logits.chunk(10, 0)) {
    const torch::Tensor p = torch::softmax(c, 1);
    const torch::Tensor py = p.mean(0, true);
    scores.push_back(std::exp((p * (p.log() - py.log())).sum(1).mean().item<double>()));
  }
  REQUIRE(scores.size() == 9);
  const torch::Tensor t = torch::tensor(scores, torch::kDouble);
  const InceptionScore s = inception_score_stats(logits, 10);
  CHECK(s.mean == Approx(t.mean().item<double>()).epsilon(1e-10));
  CHECK(s.stddev == Approx(t.std().item<double>()).epsilon(1e-9));
  CHECK(s.mean >= 1.0);
  CHECK(inception_score(logits, 1) == Approx(inception_score_stats(logits, 1).mean));
  CHECK(inception_score_stats(logits, 1).stddev == 0.0);
}

TEST_CASE("Inception Score rejects malformed input", "[gan][inception_score]") {
  CHECK_THROWS_AS(inception_score(torch::zeros({10}), 2), std::invalid_argument);
  CHECK_THROWS_AS(inception_score(torch::zeros({10, 3}), 0), std::invalid_argument);
  CHECK_THROWS_AS(inception_score(torch::zeros({10, 3}), 11), std::invalid_argument);
  CHECK_THROWS_AS(inception_score(torch::full({4, 3}, std::nan("")), 2), std::invalid_argument);
  CHECK_THROWS_AS(inception_score(torch::zeros({4, 3}, torch::kLong), 2), std::invalid_argument);
}

TEST_CASE("IS input images: pixel levels truncated as a uint8 cast does", "[gan][inception_score]") {
  const torch::Tensor x = torch::tensor({-1.5f, -1.0f, 0.0f, 0.999f, 1.0f, 1.2f}).view({1, 1, 2, 3});
  const torch::Tensor levels = truncated_pixel_images(x).flatten().mul(127.5).add(127.5);
  const std::vector<double> expected{0, 0, 127, 254, 255, 255};  // rounding: 0, 0, 128, 255, 255, 255
  REQUIRE(levels.numel() == 6);
  for (int i = 0; i < 6; ++i) CHECK(levels[i].item<double>() == Approx(expected[static_cast<std::size_t>(i)]).margin(1e-4));
  CHECK(truncated_pixel_images(x).sizes() == x.sizes());
}
