#pragma once
// The rank tests of the study statistics (docs/study.md): the Wilcoxon rank-sum test
// (Mann-Whitney U) of two independent samples and the Wilcoxon signed-rank test of paired samples.
//
// Both give exact p-values for small samples by counting the null distribution of the statistic
// over every equally likely arrangement (every split of the pooled ranks into the two samples, or
// every assignment of signs to the ranked differences), with mid-ranks for tied values: this is the
// exact permutation distribution, so it stays exact with ties. Larger samples use the normal
// approximation with the tie correction of the variance. Pure functions, no I/O.
#include <vector>

namespace pbtnas {

// The alternative hypothesis. For the signed-rank test of x against y, Greater: the differences
// x - y tend to be positive; for the rank-sum test of a against b, Greater: a tends to be larger.
enum class Alternative { TwoSided, Greater, Less };
const char* alternative_name(Alternative a);  // "two-sided", "greater", "less" (scipy's words)

// ---- Wilcoxon rank-sum / Mann-Whitney U test of samples a and b
struct RankSumTest {
  int n1 = 0, n2 = 0;
  double rank_sum1 = 0.0;  // R1: sum of a's ranks in the pooled sample (ties: mid-ranks)
  double u1 = 0.0;         // R1 - n1 (n1 + 1) / 2: pairs (x in a, y in b) with x > y (+1/2 per tie)
  double u2 = 0.0;         // n1 n2 - u1
  Alternative alternative = Alternative::TwoSided;
  double z = 0.0;          // normal approximation only (see rank_sum_test)
  double p = 1.0;          // the p-value of `alternative`
  bool exact = false;      // counted null distribution (n1 + n2 <= kExactMaxTotal, ties or not)
  bool ties = false;       // the pooled sample holds equal values
};
// The exact p-value is counted up to this many values in all (C(40, 20) ~ 1.4e11 splits: the
// counts stay exact in a double); beyond, the normal approximation.
inline constexpr int kExactMaxTotal = 40;
// Exact: the null distribution of R1 over all C(n1 + n2, n1) splits of the pooled mid-ranks
// (counted by dynamic programming over the doubled mid-ranks, which are integers);
// Greater: P(U >= U1), Less: P(U <= U1), two-sided: min(1, 2 min(P(U <= U1), P(U >= U1))).
// Approximate (scipy's mannwhitneyu "asymptotic", with continuity): sigma^2 = n1 n2 / 12 ((N + 1) -
// sum(t^3 - t) / (N (N - 1))) over the groups of t tied values; z = (U - n1 n2 / 2 - 1/2) / sigma
// with U = max(U1, U2) (two-sided, p = 2 (1 - Phi(z))), U1 (greater) or U2 (less), p = 1 - Phi(z).
// Throws std::invalid_argument when a sample is empty or holds a non-finite value.
RankSumTest rank_sum_test(const std::vector<double>& a, const std::vector<double>& b,
                          Alternative alternative = Alternative::TwoSided);
// P(U <= u) under the null hypothesis (no ties), by counting: the number of orderings of n1 + n2
// distinct values with U = k follows c(i, j, k) = c(i - 1, j, k - j) + c(i, j - 1, k).
double rank_sum_cdf(int n1, int n2, double u);

// ---- Wilcoxon signed-rank test of paired samples x and y (differences d = x - y)
struct SignedRankTest {
  int pairs = 0;           // pairs given
  int zeros = 0;           // pairs with d = 0: dropped before ranking (scipy's zero_method "wilcox")
  int n = 0;               // differences ranked: pairs - zeros
  double w_plus = 0.0;     // sum of the ranks of |d| over d > 0 (ties: mid-ranks)
  double w_minus = 0.0;    // over d < 0; w_plus + w_minus = n (n + 1) / 2
  Alternative alternative = Alternative::TwoSided;
  double z = 0.0;          // normal approximation only
  double p = 1.0;          // the p-value of `alternative`; 1 when n = 0 (every pair equal)
  bool exact = false;      // counted null distribution (n <= kSignedRankExactMax, ties or not)
  bool ties = false;       // some nonzero |d| are equal
};
// As scipy's method "auto": exact up to 50 differences (2^50 sign assignments: the counts stay
// exact in a double), the normal approximation beyond.
inline constexpr int kSignedRankExactMax = 50;
// Exact: the null distribution of W+ over the 2^n equally likely signs of the n ranked differences
// (counted by dynamic programming over the doubled mid-ranks); Greater: P(W+ >= w_plus),
// Less: P(W+ <= w_plus), two-sided: min(1, 2 min(P(W+ <= w_plus), P(W+ >= w_plus))).
// Approximate (scipy's wilcoxon method "approx", no continuity correction):
// z = (W+ - n (n + 1) / 4) / sqrt((n (n + 1) (2n + 1) - sum(t^3 - t) / 2) / 24) over the groups of
// t tied |d|; Greater: p = 1 - Phi(z), Less: Phi(z), two-sided: 2 (1 - Phi(|z|)).
// Throws std::invalid_argument when the samples differ in length or hold a non-finite value.
SignedRankTest signed_rank_test(const std::vector<double>& x, const std::vector<double>& y,
                                Alternative alternative);

}  // namespace pbtnas
