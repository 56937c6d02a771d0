// Studies (core/study.hpp): the study file, the derived configs, the plan file, the statistics
// against hand-computed values, and the report.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "pbtnas/core/config.hpp"
#include "pbtnas/core/study.hpp"
#include "support/study_fixture.hpp"

using namespace pbtnas;
using pbtnas::test::fid_study;
using Catch::Matchers::Contains;

namespace {

const char* const kBase = test::kStudyBase;

const char* kStudy = R"(base: ../configs/base.yaml
metric: fid
goal: min
seeds: [7, 8, 9]
variants:
  - name: pbtnas
  - name: no_mixing
    set: {mix_with_itself: true}
  - name: sp_1_0
    set:
      shrink_perturb: [1, 0]
  - name: narrow
    set:
      classify: {channels: 2}
)";

std::string study_with_variant(const std::string& variant_lines) {
  return "base: b.yaml\nseeds: [1, 2]\nvariants:\n  - name: ref\n" + variant_lines;
}

}  // namespace

TEST_CASE("study: population std and mean against hand-computed values") {
  CHECK(mean_of({2, 4, 4, 4, 5, 5, 7, 9}) == Approx(5.0));
  CHECK(population_std({2, 4, 4, 4, 5, 5, 7, 9}) == Approx(2.0));  // sample std would be 2.138
  CHECK(population_std({13.0}) == 0.0);
  CHECK(population_std({1.0, 3.0}) == Approx(1.0));
  CHECK(std::isnan(mean_of({})));
  CHECK(std::isnan(population_std({})));
}

TEST_CASE("study: exact null distribution of U for 3 and 3 values") {
  // Orderings of 3 + 3 values: 20; U counts 0..9 are 1 1 2 3 3 3 3 2 1 1.
  CHECK(rank_sum_cdf(3, 3, 0) == Approx(1.0 / 20));
  CHECK(rank_sum_cdf(3, 3, 1) == Approx(2.0 / 20));
  CHECK(rank_sum_cdf(3, 3, 2) == Approx(4.0 / 20));
  CHECK(rank_sum_cdf(3, 3, 3) == Approx(7.0 / 20));
  CHECK(rank_sum_cdf(3, 3, 4) == Approx(10.0 / 20));
  CHECK(rank_sum_cdf(3, 3, 9) == Approx(1.0));
  // 2 and 1 values: 3 orderings, U = 0, 1, 2 once each.
  CHECK(rank_sum_cdf(2, 1, 0) == Approx(1.0 / 3));
  CHECK(rank_sum_cdf(2, 1, 1) == Approx(2.0 / 3));
}

TEST_CASE("study: rank-sum test exact p-values of small known cases") {
  SECTION("complete separation of 3 and 3") {
    const RankSumTest t = rank_sum_test({1, 2, 3}, {4, 5, 6});
    CHECK(t.exact);
    CHECK_FALSE(t.ties);
    CHECK(t.rank_sum1 == Approx(6));
    CHECK(t.u1 == Approx(0));
    CHECK(t.u2 == Approx(9));
    CHECK(t.p == Approx(0.1));  // 2 * 1/20
  }
  SECTION("the direction does not change the two-sided p-value") {
    const RankSumTest t = rank_sum_test({4, 5, 6}, {1, 2, 3});
    CHECK(t.u1 == Approx(9));
    CHECK(t.p == Approx(0.1));
  }
  SECTION("interleaved samples") {
    const RankSumTest t = rank_sum_test({1, 3, 5}, {2, 4, 6});
    CHECK(t.u1 == Approx(3));
    CHECK(t.p == Approx(0.7));  // 2 * P(U <= 3) = 2 * 7/20
  }
  SECTION("the middle of the distribution gives p = 1") {
    const RankSumTest t = rank_sum_test({1, 4}, {2, 3});
    CHECK(t.u1 == Approx(2));
    CHECK(t.p == Approx(1.0));
  }
  SECTION("unequal sizes: 3 against 2") {
    // a = {10, 20, 30}, b = {1, 2}: U1 = 6 (all pairs), orderings C(5, 2) = 10, p = 2 / 10.
    const RankSumTest t = rank_sum_test({10, 20, 30}, {1, 2});
    CHECK(t.u1 == Approx(6));
    CHECK(t.p == Approx(0.2));
  }
}

TEST_CASE("study: rank-sum test edge cases") {
  const RankSumTest all_equal = rank_sum_test({5, 5}, {5, 5});
  CHECK(all_equal.p == 1.0);
  CHECK_THROWS_AS(rank_sum_test({}, {1.0}), std::invalid_argument);
  CHECK_THROWS_AS(rank_sum_test({1.0, std::numeric_limits<double>::quiet_NaN()}, {1.0}), std::invalid_argument);
  // Beyond kExactMaxTotal values the normal approximation is used even without ties.
  std::vector<double> a, b;
  for (int i = 0; i < 21; ++i) {
    a.push_back(i);
    b.push_back(100 + i);
  }
  const RankSumTest big = rank_sum_test(a, b);
  CHECK_FALSE(big.exact);
  CHECK(big.p < 1e-6);
}

TEST_CASE("study: a study file lists variants x seeds with derived configs") {
  const Study st = parse_study(kStudy, "jobs/studies/s.yaml", kBase);
  CHECK(st.base_path == "jobs/configs/base.yaml");
  CHECK(st.metric == "fid");
  CHECK_FALSE(st.higher_is_better);
  REQUIRE(st.variants.size() == 4);
  REQUIRE(st.runs.size() == 12);
  CHECK(st.runs[0].variant_name == "pbtnas");
  CHECK(st.runs[0].seed == 7);
  CHECK(st.runs[4].variant_name == "no_mixing");
  CHECK(st.runs[4].seed == 8);
  CHECK(st.runs[4].index == 4);
  CHECK(st.runs[4].dir == "no_mixing/seed_8");
  CHECK(st.runs[4].config_file == "no_mixing/seed_8.yaml");

  const RunConfig ref = parse_config(st.runs[1].config_text, "t");
  CHECK(ref.seed == 8);
  CHECK_FALSE(ref.mix_with_itself);
  CHECK(ref.shrink == 0.4);
  const RunConfig nm = parse_config(st.runs[3].config_text, "t");
  CHECK(nm.mix_with_itself);
  CHECK(nm.seed == 7);
  CHECK(nm.selection.population_size == 4);
  const RunConfig sp = parse_config(st.runs[6].config_text, "t");
  CHECK(sp.shrink == 1.0);
  CHECK(sp.perturb == 0.0);
  // A nested override changes one key of the section and keeps the others.
  CHECK_THAT(st.runs[9].config_text, Contains("channels: 2"));
  CHECK_THAT(st.runs[9].config_text, Contains("train_limit: 100"));
  CHECK(st.variants[1].overrides == "{mix_with_itself: true}");
  CHECK(st.variants[0].overrides == "{}");
  // Deriving twice gives the same text (a resume compares it).
  CHECK(parse_study(kStudy, "elsewhere/s.yaml", kBase).runs[5].config_text == st.runs[5].config_text);
}

TEST_CASE("study: the default metric is the best-ever fitness and larger is better") {
  const Study st = parse_study(study_with_variant(""), "s.yaml", kBase);
  CHECK(st.metric == "best_ever_fitness");
  CHECK(st.higher_is_better);
  CHECK(st.base_path == "b.yaml");
}

TEST_CASE("study: bad override values are refused with the key and the variant named") {
  auto refuse = [](const std::string& variant, const std::string& what) {
    CHECK_THROWS_WITH(parse_study(study_with_variant(variant), "s.yaml", kBase), Contains(what));
  };
  refuse("  - name: bad\n    set: {shrink_perturb: [11, 0]}\n", "'shrink_perturb[0]' = 11 is out of range");
  refuse("  - name: bad\n    set: {shrink_perturb: [11, 0]}\n", "variant 'bad'");
  refuse("  - name: bad\n    set: {algorithm: bohb}\n", "'algorithm' = 'bohb' is not valid; expected one of pbtnas");
  refuse("  - name: bad\n    set: {mix_with_itslef: true}\n", "'mix_with_itslef' is not a known key");
  refuse("  - name: bad\n    set: {mix_with_itself: maybe}\n", "'mix_with_itself' has value 'maybe' of the wrong type");
  refuse("  - name: bad\n    set: {shrink_perturb: 0.4}\n", "'shrink_perturb' must be a list of two numbers");
  refuse("  - name: bad\n    set: {seed: 3}\n", "'variants[1].set.seed' cannot be set by a variant");
  refuse("  - name: bad\n    set: [1, 2]\n", "'variants[1].set' must be a mapping");
  refuse("  - name: ref\n", "'variants[1].name' = 'ref' is used by two variants");
  refuse("  - name: ../up\n", "'variants[1].name' = '../up' is not a usable name");
  refuse("  - name: x\n    sett: {}\n", "'variants[1].sett' is not a known key");
}

TEST_CASE("study: bad study keys are refused with the key named") {
  auto refuse = [](const std::string& text, const std::string& what) {
    CHECK_THROWS_WITH(parse_study(text, "s.yaml", kBase), Contains(what));
  };
  refuse("seeds: [1]\nvariants: [{name: a}]\n", "'base' is missing");
  refuse("base: b.yaml\nvariants: [{name: a}]\n", "'seeds' must be a non-empty list");
  refuse("base: b.yaml\nseeds: []\nvariants: [{name: a}]\n", "'seeds' must be a non-empty list");
  refuse("base: b.yaml\nseeds: [1, 1]\nvariants: [{name: a}]\n", "'seeds[1]' = 1 is listed twice");
  refuse("base: b.yaml\nseeds: [-1]\nvariants: [{name: a}]\n", "'seeds[0]'");
  refuse("base: b.yaml\nseeds: [1]\n", "'variants' must be a non-empty list");
  refuse("base: b.yaml\nseeds: [1]\nvariants: [{name: a}]\nmetric: fid\n", "'goal' is missing");
  refuse("base: b.yaml\nseeds: [1]\nvariants: [{name: a}]\ngoal: up\n", "'goal' = 'up' is not valid");
  refuse("base: b.yaml\nseeds: [1]\nvariants: [{name: a}]\nseed: 3\n", "'seed' is not a known key");
  refuse("base: b.yaml\nbase: c.yaml\nseeds: [1]\nvariants: [{name: a}]\n", "'base' is given twice");
  // The base config itself is checked, naming its file.
  CHECK_THROWS_WITH(parse_study("base: b.yaml\nseeds: [1]\nvariants: [{name: a}]\n", "s.yaml", "population_size: 2\n"),
                    Contains("b.yaml") && Contains("population_size"));
}

TEST_CASE("study: the committed smoke study parses") {
  const Study st = load_study(std::string(PBTNAS_SOURCE_DIR) + "/jobs/studies/smoke_study.yaml");
  CHECK(st.variants.size() == 2);
  CHECK(st.seeds.size() == 2);
  CHECK(st.runs.size() == 4);
  CHECK(parse_config(st.runs[3].config_text, "t").algorithm == Algorithm::Random);
}

TEST_CASE("study: an unreadable base config names the resolved path") {
  const auto dir = std::filesystem::temp_directory_path() / ("pbtnas_study_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "s.yaml").string();
  std::ofstream(file) << "base: ../no/such.yaml\nseeds: [1]\nvariants: [{name: a}]\n";
  const std::string expected = (dir.parent_path() / "no" / "such.yaml").lexically_normal().string();
  CHECK_THROWS_WITH(load_study(file), Contains("the base config '" + expected + "' cannot be read"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("study: the plan file round-trips") {
  const Study st = parse_study(kStudy, "jobs/studies/s.yaml", kBase);
  const Study back = parse_plan(plan_text(st), "plan");
  CHECK(back.path == st.path);
  CHECK(back.metric == "fid");
  CHECK_FALSE(back.higher_is_better);
  REQUIRE(back.variants.size() == 4);
  CHECK(back.variants[2].overrides == st.variants[2].overrides);
  REQUIRE(back.runs.size() == 12);
  CHECK(back.runs[11].dir == st.runs[11].dir);
  CHECK(back.runs[11].variant == 3);
  CHECK(back.seeds == st.seeds);
  CHECK_THROWS_WITH(parse_plan("hello\n", "p.tsv"), Contains("p.tsv") && Contains("unexpected line"));
  CHECK_THROWS_WITH(parse_plan("# nothing\n", "p.tsv"), Contains("no variants or runs"));
}

TEST_CASE("study: the report aggregates finished runs and compares against the first variant") {
  const Study st = parse_study(study_with_variant("  - name: other\n    set: {algorithm: random}\n"), "s.yaml", kBase);
  // runs: 0 ref/1, 1 ref/2, 2 other/1, 3 other/2
  std::vector<RunOutcome> out(4);
  out[0] = {0, true, 0.9, {0.5, 0.7, 0.9}, ""};
  out[1] = {1, true, 0.8, {0.6, 0.8}, ""};
  out[2] = {2, true, 0.4, {0.3, 0.4, 0.4}, ""};
  out[3] = {3, false, 0.0, {0.2}, "interrupted"};
  const StudyReport rep = summarize_study(st, out);
  REQUIRE(rep.variants.size() == 2);
  CHECK(rep.variants[0].values.size() == 2);
  CHECK(rep.variants[0].mean == Approx(0.85));
  CHECK(rep.variants[0].std == Approx(0.05));
  CHECK(rep.variants[0].gen_mean.size() == 3);
  CHECK(rep.variants[0].gen_mean[0] == Approx(0.55));
  CHECK(rep.variants[0].gen_std[0] == Approx(0.05));
  CHECK(rep.variants[0].gen_n[2] == 1);
  CHECK(rep.variants[0].gen_max[2] == Approx(0.9));
  CHECK(rep.variants[1].values.size() == 1);
  CHECK(rep.variants[1].std == 0.0);
  REQUIRE(rep.missing.size() == 1);
  CHECK_THAT(rep.missing[0], Contains("other seed 2") && Contains("interrupted"));
  REQUIRE(rep.comparisons.size() == 1);
  CHECK(rep.comparisons[0].valid);
  CHECK(rep.comparisons[0].test.u1 == Approx(2));
  CHECK(rep.comparisons[0].test.p == Approx(2.0 / 3));  // 2 * P(U <= 0) with C(3, 1) = 3 orderings
  // Paired by seed: only seed 1 has both (0.9 against 0.4); one positive difference, p = 1/2.
  CHECK(rep.comparisons[0].paired_valid);
  CHECK(rep.comparisons[0].paired_seeds == std::vector<std::uint64_t>{1});
  CHECK(rep.comparisons[0].paired.alternative == Alternative::Greater);
  CHECK(rep.comparisons[0].paired.p == Approx(0.5));
}

TEST_CASE("study: a variant without values is reported but not compared") {
  const Study st = parse_study(study_with_variant("  - name: other\n"), "s.yaml", kBase);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<RunOutcome> out = {{0, true, 1.0, {1.0}, ""}, {2, true, nan, {0.5}, "final evaluation failed"}};
  const StudyReport rep = summarize_study(st, out);
  CHECK_FALSE(rep.comparisons[0].valid);
  CHECK(rep.variants[1].values.empty());
  CHECK(rep.missing.size() == 3);  // ref seed 2, other seed 1 (no value), other seed 2
}

TEST_CASE("study: the paired signed-rank test points towards the reference being better under goal min") {
  // FID: smaller is better. The reference is smaller on all three seeds: d = ref - other < 0,
  // alternative "less", p = 1/8.
  const StudyReport rep = fid_study({"pbtnas", "random"}, {{10, 11, 12}, {13, 12, 15}});
  REQUIRE(rep.comparisons.size() == 1);
  const auto& c = rep.comparisons[0];
  CHECK(c.paired.alternative == Alternative::Less);
  CHECK(c.paired_seeds == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(c.paired.w_plus == 0);
  CHECK(c.paired.p == Approx(0.125));
  // The reverse (the reference worse on every seed) is no evidence for it: p = 1.
  const StudyReport worse = fid_study({"pbtnas", "random"}, {{13, 12, 15}, {10, 11, 12}});
  CHECK(worse.comparisons[0].paired.p == 1.0);
}

TEST_CASE("study: the paired test uses only the seeds both variants have") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const StudyReport rep = fid_study({"pbtnas", "random"}, {{10, nan, 12}, {13, 12, nan}});
  CHECK(rep.comparisons[0].paired_seeds == std::vector<std::uint64_t>{1});
  CHECK(rep.comparisons[0].paired.pairs == 1);
  const StudyReport none = fid_study({"pbtnas", "random"}, {{10, nan, nan}, {nan, 12, 13}});
  CHECK(none.comparisons[0].valid);  // the rank-sum test needs no pairs
  CHECK_FALSE(none.comparisons[0].paired_valid);
}

TEST_CASE("study: pooling three settings pairs by (setting, seed) as the paper's test") {
  // The reference has the smaller FID in all 9 pairs: one-sided exact p = 1/512. `mutation` wins
  // one pair (setting c, seed 3) with the smallest difference: W+ = 1, p = 2/512.
  const std::vector<StudyReport> studies = {
      fid_study({"pbtnas", "random", "mutation"}, {{10, 11, 12}, {13, 12.5, 15}, {11, 12, 13}}),
      fid_study({"pbtnas", "random", "mutation"}, {{20, 21, 22}, {24, 27, 26}, {22, 24, 24}}),
      fid_study({"pbtnas", "mutation", "random"}, {{30, 31, 32}, {35, 34.5, 31.9}, {38, 38, 39}})};
  const PooledReport rep = pool_studies({"a", "b", "c"}, studies);
  CHECK(rep.reference == "pbtnas");
  CHECK(rep.metric == "fid");
  REQUIRE(rep.comparisons.size() == 2);
  const PooledComparison& random = rep.comparisons[0];
  CHECK(random.other == "random");
  REQUIRE(random.pairs.size() == 9);
  CHECK(random.pairs[3].setting == "b");
  CHECK(random.pairs[3].seed == 1);
  CHECK(random.pairs[3].reference == 20);
  CHECK(random.pairs[3].other == 24);
  CHECK(random.pairs[8].other == 39);  // setting c lists random second: matched by name
  CHECK(random.test.alternative == Alternative::Less);
  CHECK(random.test.exact);
  CHECK(random.test.p == Approx(1.0 / 512));
  const PooledComparison& mutation = rep.comparisons[1];
  CHECK(mutation.test.w_plus == 1);  // 32 - 31.9 = 0.1 is the smallest |d|
  CHECK(mutation.test.p == Approx(2.0 / 512));
}

TEST_CASE("study: pooling leaves out a variant missing from a setting, and drops zero differences") {
  const std::vector<StudyReport> studies = {fid_study({"pbtnas", "random", "extra"}, {{1, 2, 3}, {1, 3, 4}, {5, 5, 5}}),
                                            fid_study({"pbtnas", "random"}, {{1, 2, 3}, {2, 3, 4}})};
  const PooledReport rep = pool_studies({"a", "b"}, studies);
  REQUIRE(rep.comparisons.size() == 1);
  CHECK(rep.comparisons[0].other == "random");
  CHECK(rep.comparisons[0].pairs.size() == 6);
  CHECK(rep.comparisons[0].test.zeros == 1);  // setting a, seed 1: 1 against 1
  CHECK(rep.comparisons[0].test.n == 5);
  CHECK(rep.comparisons[0].test.p == Approx(1.0 / 32));
  REQUIRE(rep.notes.size() == 1);
  CHECK_THAT(rep.notes[0], Contains("extra is left out") && Contains("not a variant of b"));
}

TEST_CASE("study: pooling refuses studies that disagree, naming the folder and the fix") {
  const StudyReport fid = fid_study({"pbtnas", "random"}, {{1, 2, 3}, {2, 3, 4}});
  const StudyReport is = fid_study({"pbtnas", "random"}, {{1, 2, 3}, {2, 3, 4}}, "max", "inception_score");
  const StudyReport fid_max = fid_study({"pbtnas", "random"}, {{1, 2, 3}, {2, 3, 4}}, "max");
  const StudyReport other_ref = fid_study({"random", "pbtnas"}, {{1, 2, 3}, {2, 3, 4}});
  CHECK_THROWS_WITH(pool_studies({"a", "b"}, {fid, is}),
                    Contains("b compares 'inception_score' (goal max) but a compares 'fid' (goal min)") &&
                        Contains("the same `metric:` and `goal:`"));
  CHECK_THROWS_WITH(pool_studies({"a", "b"}, {fid, fid_max}), Contains("b compares 'fid' (goal max)"));
  CHECK_THROWS_WITH(pool_studies({"a", "b"}, {fid, other_ref}),
                    Contains("b: its reference (first variant) is 'random' but a's is 'pbtnas'") &&
                        Contains("list the same variant first"));
  CHECK_THROWS_WITH(pool_studies({"a", "a"}, {fid, fid}), Contains("a is given twice"));
  CHECK_THROWS_AS(pool_studies({}, {}), std::invalid_argument);
}

TEST_CASE("study: best_last_fitness is a fitness metric: larger is better without a goal") {
  const Study st = parse_study("base: b.yaml\nmetric: best_last_fitness\nseeds: [1]\nvariants: [{name: a}]\n", "s.yaml", kBase);
  CHECK(st.metric == "best_last_fitness");
  CHECK(st.higher_is_better);
  CHECK(is_fitness_metric("best_last_fitness"));
  CHECK(is_fitness_metric("best_ever_fitness"));
  CHECK_FALSE(is_fitness_metric("return"));
  const StudyReport rep = fid_study({"a"}, {{1, 2, 3}}, "max", "best_last_fitness");
  CHECK(rep.higher_is_better);
}

TEST_CASE("study: the report shows the best-ever and the final population's search fitness next to the metric") {
  const Study st = parse_study("base: b.yaml\nmetric: return\ngoal: max\nseeds: [1, 2]\nvariants: [{name: a}]\n", "s.yaml", kBase);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<RunOutcome> out(2);
  out[0] = {0, true, 100.0, {}, "", 120.0, 90.0};
  out[1] = {1, true, 200.0, {}, "", 220.0, nan};  // the final population diverged
  const StudyReport rep = summarize_study(st, out);
  const VariantStats& v = rep.variants[0];
  CHECK(v.best_ever_n == 2);
  CHECK(v.best_ever_mean == Approx(170));
  CHECK(v.best_ever_std == Approx(50));
  CHECK(v.best_last_n == 1);
  CHECK(v.best_last_mean == Approx(90));
  CHECK(std::isnan(v.best_last_fitness[1]));
}
