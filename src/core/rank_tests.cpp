// The rank tests of the study statistics (rank_tests.hpp, docs/study.md).
#include "pbtnas/core/rank_tests.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>

namespace pbtnas {
namespace {

// 1 - Phi(z) and Phi(z) of the standard normal distribution.
double normal_sf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }
double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

// Twice the mid-ranks (1-based) of `values`, so that they are integers: a group of t equal values
// at positions i+1 .. i+t of the sorted order gets rank (2i + t + 1) / 2, doubled 2i + t + 1.
// `tie_term` receives sum(t^3 - t) over the groups, `ties` whether there is any group with t > 1.
std::vector<std::int64_t> doubled_mid_ranks(const std::vector<double>& values, double& tie_term, bool& ties) {
  const std::size_t n = values.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  std::vector<std::int64_t> r2(n, 0);
  tie_term = 0.0;
  ties = false;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && values[order[j]] == values[order[i]]) ++j;
    const auto t = static_cast<std::int64_t>(j - i);
    for (std::size_t k = i; k < j; ++k) r2[order[k]] = 2 * static_cast<std::int64_t>(i) + t + 1;
    if (t > 1) {
      ties = true;
      const double td = static_cast<double>(t);
      tie_term += td * td * td - td;
    }
    i = j;
  }
  return r2;
}

void check_finite(const std::vector<double>& x, const char* who) {
  for (double v : x)
    if (!std::isfinite(v))
      throw std::invalid_argument(std::string(who) + ": a sample holds a non-finite value (NaN or infinity); "
                                  "leave out the runs without a value");
}

// p-value from the counted null distribution `counts` of an integer statistic (index = value) and
// the observed value `s`.
double counted_p(const std::vector<double>& counts, std::int64_t s, Alternative alt) {
  double total = 0.0, le = 0.0, ge = 0.0;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    total += counts[k];
    if (static_cast<std::int64_t>(k) <= s) le += counts[k];
    if (static_cast<std::int64_t>(k) >= s) ge += counts[k];
  }
  switch (alt) {
    case Alternative::Greater: return std::min(1.0, ge / total);
    case Alternative::Less: return std::min(1.0, le / total);
    case Alternative::TwoSided: break;
  }
  return std::min(1.0, 2.0 * std::min(le, ge) / total);
}

}  // namespace

const char* alternative_name(Alternative a) {
  switch (a) {
    case Alternative::TwoSided: return "two-sided";
    case Alternative::Greater: return "greater";
    case Alternative::Less: return "less";
  }
  return "?";
}

// ------------------------------------------------------------------ rank-sum

double rank_sum_cdf(int n1, int n2, double u) {
  if (n1 < 0 || n2 < 0) throw std::invalid_argument("rank_sum_cdf: negative sample size");
  const int max_u = n1 * n2;
  // c[j][k] for the current i: orderings of i values of a and j values of b with U = k.
  std::vector<std::vector<double>> prev(static_cast<std::size_t>(n2 + 1), std::vector<double>(max_u + 1, 0.0));
  for (int j = 0; j <= n2; ++j) prev[j][0] = 1.0;  // i = 0: U = 0
  for (int i = 1; i <= n1; ++i) {
    std::vector<std::vector<double>> cur(static_cast<std::size_t>(n2 + 1), std::vector<double>(max_u + 1, 0.0));
    cur[0][0] = 1.0;  // j = 0: U = 0
    for (int j = 1; j <= n2; ++j)
      for (int k = 0; k <= i * j; ++k)
        // The largest pooled value belongs to a (then it beats all j of b) or to b.
        cur[j][k] = (k >= j ? prev[j][k - j] : 0.0) + cur[j - 1][k];
    prev.swap(cur);
  }
  double total = 0.0, below = 0.0;
  for (int k = 0; k <= max_u; ++k) {
    total += prev[n2][k];
    if (k <= u + 1e-9) below += prev[n2][k];
  }
  return below / total;
}

RankSumTest rank_sum_test(const std::vector<double>& a, const std::vector<double>& b, Alternative alt) {
  if (a.empty() || b.empty()) throw std::invalid_argument("rank_sum_test: both samples need at least one value");
  check_finite(a, "rank_sum_test");
  check_finite(b, "rank_sum_test");
  RankSumTest t;
  t.alternative = alt;
  t.n1 = static_cast<int>(a.size());
  t.n2 = static_cast<int>(b.size());
  const int n = t.n1 + t.n2;
  std::vector<double> pooled(a);
  pooled.insert(pooled.end(), b.begin(), b.end());
  double tie_term = 0.0;
  const std::vector<std::int64_t> r2 = doubled_mid_ranks(pooled, tie_term, t.ties);
  std::int64_t r1_2 = 0;  // 2 R1
  for (int i = 0; i < t.n1; ++i) r1_2 += r2[static_cast<std::size_t>(i)];
  const double n1 = t.n1, n2 = t.n2;
  t.rank_sum1 = static_cast<double>(r1_2) / 2.0;
  t.u1 = t.rank_sum1 - n1 * (n1 + 1) / 2.0;
  t.u2 = n1 * n2 - t.u1;
  if (n <= kExactMaxTotal) {
    // c[j][s]: the number of ways to choose j of the pooled values seen so far whose doubled ranks
    // sum to s; after all N values, c[n1][.] is the null distribution of 2 R1 over the C(N, n1)
    // equally likely splits (counts up to C(40, 20) < 2^53: exact).
    const std::int64_t total2 = std::accumulate(r2.begin(), r2.end(), std::int64_t{0});
    std::vector<std::vector<double>> c(static_cast<std::size_t>(t.n1 + 1),
                                       std::vector<double>(static_cast<std::size_t>(total2 + 1), 0.0));
    c[0][0] = 1.0;
    for (std::size_t k = 0; k < r2.size(); ++k)
      for (int j = std::min<int>(t.n1, static_cast<int>(k) + 1); j >= 1; --j)
        for (std::int64_t s = total2; s >= r2[k]; --s) c[j][s] += c[j - 1][s - r2[k]];
    // U1 = R1 - n1 (n1 + 1) / 2 is R1 shifted: the same tail probabilities.
    t.exact = true;
    t.p = counted_p(c[static_cast<std::size_t>(t.n1)], r1_2, alt);
    return t;
  }
  const double mu = n1 * n2 / 2.0;
  const double var = n1 * n2 / 12.0 * ((n + 1) - tie_term / (static_cast<double>(n) * (n - 1)));
  if (var <= 0.0) {  // every value equal
    t.z = 0.0;
    t.p = 1.0;
    return t;
  }
  const double u = alt == Alternative::TwoSided ? std::max(t.u1, t.u2) : alt == Alternative::Greater ? t.u1 : t.u2;
  t.z = (u - mu - 0.5) / std::sqrt(var);
  t.p = std::min(1.0, (alt == Alternative::TwoSided ? 2.0 : 1.0) * normal_sf(t.z));
  return t;
}

// ------------------------------------------------------------------ signed-rank

SignedRankTest signed_rank_test(const std::vector<double>& x, const std::vector<double>& y, Alternative alt) {
  if (x.size() != y.size())
    throw std::invalid_argument("signed_rank_test: the paired samples differ in length (" + std::to_string(x.size()) +
                                " and " + std::to_string(y.size()) + "); pass one value of each per pair");
  check_finite(x, "signed_rank_test");
  check_finite(y, "signed_rank_test");
  SignedRankTest t;
  t.alternative = alt;
  t.pairs = static_cast<int>(x.size());
  std::vector<double> d, abs_d;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double di = x[i] - y[i];
    if (di == 0.0) {
      ++t.zeros;  // zero_method "wilcox": dropped before ranking
      continue;
    }
    d.push_back(di);
    abs_d.push_back(std::fabs(di));
  }
  t.n = static_cast<int>(d.size());
  if (t.n == 0) {  // every pair equal: no evidence either way
    t.p = 1.0;
    return t;
  }
  double tie_term = 0.0;
  const std::vector<std::int64_t> r2 = doubled_mid_ranks(abs_d, tie_term, t.ties);
  std::int64_t w_plus2 = 0, total2 = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    total2 += r2[i];
    if (d[i] > 0) w_plus2 += r2[i];
  }
  t.w_plus = static_cast<double>(w_plus2) / 2.0;
  t.w_minus = static_cast<double>(total2 - w_plus2) / 2.0;
  if (t.n <= kSignedRankExactMax) {
    // c[s]: sign assignments of the differences seen so far whose positive doubled ranks sum to
    // s; each difference is positive or negative with probability 1/2 under the null hypothesis.
    std::vector<double> c(static_cast<std::size_t>(total2 + 1), 0.0);
    c[0] = 1.0;
    for (std::int64_t r : r2)
      for (std::int64_t s = total2; s >= r; --s) c[s] += c[s - r];
    t.exact = true;
    t.p = counted_p(c, w_plus2, alt);
    return t;
  }
  const double n = t.n;
  const double mean = n * (n + 1) / 4.0;
  const double var = (n * (n + 1) * (2 * n + 1) - tie_term / 2.0) / 24.0;
  t.z = (t.w_plus - mean) / std::sqrt(var);
  switch (alt) {
    case Alternative::Greater: t.p = normal_sf(t.z); break;
    case Alternative::Less: t.p = normal_cdf(t.z); break;
    case Alternative::TwoSided: t.p = std::min(1.0, 2.0 * normal_sf(std::fabs(t.z))); break;
  }
  return t;
}

}  // namespace pbtnas
