// The rank tests (core/rank_tests.hpp) against hand-computed values: the exact null distributions
// counted by enumerating sign assignments or splits by hand, the normal approximations from their
// formulas. (stats_vs_scipy.py checks a larger table against scipy.)
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "pbtnas/core/rank_tests.hpp"

using namespace pbtnas;

TEST_CASE("rank tests: signed-rank, 9 positive differences give the smallest one-sided p = 1/512") {
  const std::vector<double> x = {11, 12, 13, 14, 15, 16, 17, 18, 19};
  const std::vector<double> y = {1, 3, 2, 5, 4, 7, 6, 9, 8};
  const SignedRankTest g = signed_rank_test(x, y, Alternative::Greater);
  CHECK(g.exact);
  CHECK(g.n == 9);
  CHECK(g.w_plus == 45);  // every rank 1..9
  CHECK(g.w_minus == 0);
  CHECK(g.p == Approx(1.0 / 512));  // only the all-positive sign assignment of 2^9 reaches 45
  CHECK(signed_rank_test(x, y, Alternative::Less).p == 1.0);
  CHECK(signed_rank_test(x, y, Alternative::TwoSided).p == Approx(2.0 / 512));
  CHECK(signed_rank_test(y, x, Alternative::Less).p == Approx(1.0 / 512));  // the mirror
}

TEST_CASE("rank tests: signed-rank exact p of a mixed sample, counted by hand") {
  // d = 1, -2, 3, 4, 5: W+ = 13, W- = 2. P(W+ >= 13) = P(W- <= 2): the negative sets {}, {1}, {2}
  // of 32 -> 3/32.
  const SignedRankTest t = signed_rank_test({2, 0, 4, 6, 8}, {1, 2, 1, 2, 3}, Alternative::Greater);
  CHECK(t.w_plus == 13);
  CHECK(t.w_minus == 2);
  CHECK_FALSE(t.ties);
  CHECK(t.p == Approx(3.0 / 32));
  // Less: P(W+ <= 13) = 1 - P(W+ >= 14) = 1 - 2/32 (negative sets {} and {1}).
  CHECK(signed_rank_test({2, 0, 4, 6, 8}, {1, 2, 1, 2, 3}, Alternative::Less).p == Approx(30.0 / 32));
  // Three positive differences: 1/8, the smallest one-sided p of three seeds.
  CHECK(signed_rank_test({3, 4, 5}, {1, 1, 1}, Alternative::Greater).p == Approx(0.125));
}

TEST_CASE("rank tests: signed-rank drops zero differences and stays exact") {
  // d = 0, 1, 2, 3: the zero is dropped (zero_method "wilcox"), n = 3, W+ = 6, p = 1/8.
  const SignedRankTest t = signed_rank_test({1, 2, 3, 4}, {1, 1, 1, 1}, Alternative::Greater);
  CHECK(t.pairs == 4);
  CHECK(t.zeros == 1);
  CHECK(t.n == 3);
  CHECK(t.exact);
  CHECK(t.w_plus == 6);
  CHECK(t.p == Approx(0.125));
  // Every pair equal: nothing to rank, p = 1 in every direction.
  const SignedRankTest same = signed_rank_test({0.5, 0.7}, {0.5, 0.7}, Alternative::Greater);
  CHECK(same.n == 0);
  CHECK(same.zeros == 2);
  CHECK(same.p == 1.0);
}

TEST_CASE("rank tests: signed-rank with tied differences uses mid-ranks and the exact sign distribution") {
  SECTION("ties and a zero") {
    // d = 0, 1.5, 1.5, -0.5, 2: the zero dropped; |d| 1.5, 1.5, 0.5, 2 have ranks 2.5, 2.5, 1, 4.
    // W+ = 9, W- = 1. P(W+ >= 9) = P(W- <= 1): negative sets {} and {rank 1} of 16 -> 2/16.
    const SignedRankTest t = signed_rank_test({1, 3.5, 2.5, 0.5, 4}, {1, 2, 1, 1, 2}, Alternative::Greater);
    CHECK(t.ties);
    CHECK(t.zeros == 1);
    CHECK(t.exact);
    CHECK(t.w_plus == 9);
    CHECK(t.w_minus == 1);
    CHECK(t.p == Approx(2.0 / 16));
  }
  SECTION("a mid-rank observed value between the no-ties values") {
    // d = 1, 1, -2: ranks 1.5, 1.5, 3; W+ = 3. The 8 sign assignments give W+ = 0, 1.5, 1.5, 3,
    // 3, 4.5, 4.5, 6: P(W+ >= 3) = 5/8, P(W+ <= 3) = 5/8, two-sided min(1, 2 * 5/8) = 1.
    const SignedRankTest g = signed_rank_test({2, 2, 0}, {1, 1, 2}, Alternative::Greater);
    CHECK(g.w_plus == 3);
    CHECK(g.p == Approx(5.0 / 8));
    CHECK(signed_rank_test({2, 2, 0}, {1, 1, 2}, Alternative::Less).p == Approx(5.0 / 8));
    CHECK(signed_rank_test({2, 2, 0}, {1, 1, 2}, Alternative::TwoSided).p == 1.0);
  }
}

TEST_CASE("rank tests: signed-rank beyond 50 differences uses the normal approximation") {
  // d = +1, -2, +3, ..., +51 (odd positive): W+ = 1 + 3 + ... + 51 = 676, mean 51 * 52 / 4 = 663,
  // variance 51 * 52 * 103 / 24 = 11381.5, z = 13 / sqrt(11381.5) = 0.1218551, p = 1 - Phi(z).
  std::vector<double> x, y;
  for (int i = 1; i <= 51; ++i) {
    x.push_back(i % 2 ? i : 0);
    y.push_back(i % 2 ? 0 : i);
  }
  const SignedRankTest t = signed_rank_test(x, y, Alternative::Greater);
  CHECK_FALSE(t.exact);
  CHECK(t.w_plus == 676);
  CHECK(t.z == Approx(0.12185507).epsilon(1e-7));
  CHECK(t.p == Approx(0.45150690).epsilon(1e-7));
  CHECK(signed_rank_test(x, y, Alternative::Less).p == Approx(1 - 0.45150690).epsilon(1e-7));
  // 50 differences are still counted exactly.
  x.pop_back();
  y.pop_back();
  CHECK(signed_rank_test(x, y, Alternative::Greater).exact);
}

TEST_CASE("rank tests: signed-rank refuses unpaired or non-finite samples") {
  CHECK_THROWS_WITH(signed_rank_test({1, 2}, {1}, Alternative::Greater), Catch::Matchers::Contains("differ in length"));
  CHECK_THROWS_WITH(signed_rank_test({1, std::numeric_limits<double>::infinity()}, {1, 2}, Alternative::Greater),
                    Catch::Matchers::Contains("non-finite"));
}

TEST_CASE("rank tests: rank-sum with ties is exact for small samples") {
  SECTION("1 1 1 against 2 2 2: p = 2/20") {
    // Mid-ranks 2 2 2 5 5 5: of the C(6, 3) = 20 splits only one gives a all three 2s (R1 = 6).
    const RankSumTest t = rank_sum_test({1, 1, 1}, {2, 2, 2});
    CHECK(t.ties);
    CHECK(t.exact);
    CHECK(t.u1 == 0);
    CHECK(t.p == Approx(0.1));
  }
  SECTION("1 2 2 against 2 3 4: p = 2 * 3/20") {
    // Mid-ranks 1 3 3 3 5 6, R1 = 7: the smallest possible; 3 of the 20 splits ({1, 3, 3} with two
    // of the three 3s) reach it.
    const RankSumTest t = rank_sum_test({1, 2, 2}, {2, 3, 4});
    CHECK(t.ties);
    CHECK(t.exact);
    CHECK(t.rank_sum1 == 7);
    CHECK(t.u1 == 1);
    CHECK(t.p == Approx(0.3));
    CHECK(rank_sum_test({1, 2, 2}, {2, 3, 4}, Alternative::Less).p == Approx(3.0 / 20));
    CHECK(rank_sum_test({1, 2, 2}, {2, 3, 4}, Alternative::Greater).p == 1.0);
  }
  SECTION("one-sided without ties") {
    CHECK(rank_sum_test({4, 5, 6}, {1, 2, 3}, Alternative::Greater).p == Approx(1.0 / 20));
    CHECK(rank_sum_test({4, 5, 6}, {1, 2, 3}, Alternative::Less).p == 1.0);
  }
}

TEST_CASE("rank tests: the counted rank-sum distribution agrees with the no-ties recurrence") {
  // Without ties the split counting and rank_sum_cdf's recurrence must give the same P(U <= U1),
  // for every arrangement of n1 + n2 distinct values (bit i of `mask`: value i belongs to a).
  for (int n1 = 1; n1 <= 4; ++n1)
    for (int n2 = 1; n2 <= 5; ++n2)
      for (int mask = 0; mask < (1 << (n1 + n2)); ++mask) {
        std::vector<double> a, b;
        for (int i = 0; i < n1 + n2; ++i) ((mask >> i) & 1 ? a : b).push_back(i);
        if (static_cast<int>(a.size()) != n1) continue;
        const RankSumTest t = rank_sum_test(a, b, Alternative::Less);
        INFO("n1 " << n1 << " n2 " << n2 << " U1 " << t.u1);
        CHECK(t.p == Approx(rank_sum_cdf(n1, n2, t.u1)));
      }
}

TEST_CASE("rank tests: rank-sum with ties beyond 40 values uses the tie-corrected normal approximation") {
  // 21 zeros against 21 ones: mid-ranks 11 and 32, U1 = 0, U2 = 441; sigma^2 = 441/12 (43 - 2 (21^3 -
  // 21) / (42 * 41)) = 1185.8598, z = (441 - 220.5 - 0.5) / sigma = 6.3886047, p = 2 (1 - Phi(z)).
  const RankSumTest t = rank_sum_test(std::vector<double>(21, 0.0), std::vector<double>(21, 1.0));
  CHECK_FALSE(t.exact);
  CHECK(t.ties);
  CHECK(t.z == Approx(6.3886047).epsilon(1e-7));
  CHECK(t.p == Approx(1.674062e-10).epsilon(1e-5));
}
