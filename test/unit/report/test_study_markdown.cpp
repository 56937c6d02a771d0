// study.md and pooled.md (report/study_markdown.hpp) of studies summarised by the core
// (summarize_study, pool_studies; their numbers are tested in test/unit/core/test_study.cpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "pbtnas/core/study.hpp"
#include "support/study_fixture.hpp"
#include "pbtnas/report/study_markdown.hpp"

using namespace pbtnas;
using pbtnas::test::fid_study;
using Catch::Matchers::Contains;

namespace {

const char* const kBase = test::kStudyBase;

std::string study_with_variant(const std::string& variant_lines) {
  return "base: b.yaml\nseeds: [1, 2]\nvariants:\n  - name: ref\n" + variant_lines;
}

}  // namespace

TEST_CASE("study markdown: aggregates, both tests, generations and the runs that do not count") {
  const Study st = parse_study(study_with_variant("  - name: other\n    set: {algorithm: random}\n"), "s.yaml", kBase);
  // runs: 0 ref/1, 1 ref/2, 2 other/1, 3 other/2
  std::vector<RunOutcome> out(4);
  out[0] = {0, true, 0.9, {0.5, 0.7, 0.9}, ""};
  out[1] = {1, true, 0.8, {0.6, 0.8}, ""};
  out[2] = {2, true, 0.4, {0.3, 0.4, 0.4}, ""};
  out[3] = {3, false, 0.0, {0.2}, "interrupted"};
  const std::string md = study_markdown(summarize_study(st, out));
  CHECK_THAT(md, Contains("| ref | `{}` | 2 | 1 2 | 0.85 ± 0.05 |"));
  CHECK_THAT(md, Contains("| ref | other | 2 | 1 | 2 | 0.6667 | exact | 1 | 1 | 0.5 | exact |"));
  CHECK_THAT(md, Contains("p (signed-rank, greater)"));
  CHECK_THAT(md, Contains("population standard deviation"));
  CHECK_THAT(md, Contains("| 2 | 0.9 ± 0 (1) | 0.4 ± 0 |"));  // the third generation, numbered from 0
  CHECK_THAT(md, Contains("other seed 2: interrupted"));
}

TEST_CASE("study markdown: a variant without values is not compared") {
  const Study st = parse_study(study_with_variant("  - name: other\n"), "s.yaml", kBase);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<RunOutcome> out = {{0, true, 1.0, {1.0}, ""}, {2, true, nan, {0.5}, "final evaluation failed"}};
  CHECK_THAT(study_markdown(summarize_study(st, out)), Contains("no values on one side"));
}

TEST_CASE("study markdown: the signed-rank test's direction under goal min, and no pairs") {
  const StudyReport rep = fid_study({"pbtnas", "random"}, {{10, 11, 12}, {13, 12, 15}});
  CHECK_THAT(study_markdown(rep), Contains("p (signed-rank, less)") && Contains("alternative \"less\""));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const StudyReport none = fid_study({"pbtnas", "random"}, {{10, nan, nan}, {nan, 12, 13}});
  CHECK_THAT(study_markdown(none), Contains("no seed with values on both sides"));
}

TEST_CASE("study markdown: pooled tests, their pairs and the settings") {
  const std::vector<StudyReport> studies = {
      fid_study({"pbtnas", "random", "mutation"}, {{10, 11, 12}, {13, 12.5, 15}, {11, 12, 13}}),
      fid_study({"pbtnas", "random", "mutation"}, {{20, 21, 22}, {24, 27, 26}, {22, 24, 24}}),
      fid_study({"pbtnas", "mutation", "random"}, {{30, 31, 32}, {35, 34.5, 31.9}, {38, 38, 39}})};
  const std::string md = pooled_markdown(pool_studies({"a", "b", "c"}, studies));
  CHECK_THAT(md, Contains("| pbtnas | random | 9 | 0 | 0 | 45 | 0.001953 | exact; ties |"));
  CHECK_THAT(md, Contains("| random | b | 1 | 20 | 24 | -4 |"));
  CHECK_THAT(md, Contains("Settings (study folders): `a`, `b`, `c`"));

  const std::vector<StudyReport> zero = {fid_study({"pbtnas", "random", "extra"}, {{1, 2, 3}, {1, 3, 4}, {5, 5, 5}}),
                                         fid_study({"pbtnas", "random"}, {{1, 2, 3}, {2, 3, 4}})};
  CHECK_THAT(pooled_markdown(pool_studies({"a", "b"}, zero)), Contains("1 zero dropped"));
}

TEST_CASE("study markdown: the metric sentence and the search fitness table") {
  const StudyReport last = fid_study({"a"}, {{1, 2, 3}}, "max", "best_last_fitness");
  CHECK_THAT(study_markdown(last), Contains("best search fitness of each run's final population"));

  const Study st = parse_study("base: b.yaml\nmetric: return\ngoal: max\nseeds: [1, 2]\nvariants: [{name: a}]\n", "s.yaml", kBase);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<RunOutcome> out(2);
  out[0] = {0, true, 100.0, {}, "", 120.0, 90.0};
  out[1] = {1, true, 200.0, {}, "", 220.0, nan};  // the final population diverged
  CHECK_THAT(study_markdown(summarize_study(st, out)),
             Contains("| variant | best_ever_fitness | best_last_fitness |") &&
                 Contains("| a | 170 ± 50 (2) | 90 ± 0 (1) |"));
}
