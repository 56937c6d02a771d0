#pragma once
// Studies: one base config run as several variants (overrides of its keys) over several seeds,
// every (variant, seed) an ordinary run, then the statistics across seeds (docs/study.md).
//
// This is the pure part: the study file, the list of runs with their derived configs (each
// validated by the config parser), the run plan file that `pbtnas study-report` reads, the
// statistics (mean, population std, Wilcoxon rank-sum / Mann-Whitney U) and the Markdown report.
// Reading run folders (JSON) and writing the PNG live in the CLI (src/cli/study_command.cpp).
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "pbtnas/core/rank_tests.hpp"

namespace pbtnas {

struct StudyVariant {
  std::string name;           // also the run folder: OUT/<name>/seed_<seed>/
  std::string overrides;      // its `set:` mapping as one-line YAML ("{}" when it sets nothing)
};

struct StudyRun {
  int index = 0;              // 0-based, variant-major: variant * seeds + position of the seed
  int variant = 0;            // index into Study::variants
  std::string variant_name;
  std::uint64_t seed = 0;
  std::string dir;            // "<variant>/seed_<seed>", relative to the study's --out
  std::string config_file;    // "<variant>/seed_<seed>.yaml", the derived config, next to dir
  std::string config_text;    // base config + the variant's overrides + `seed`; search keys validated
};

struct Study {
  std::string path;                         // the study file as given
  std::string base_path;                    // the base config, resolved against the study file's folder
  std::string metric = "best_ever_fitness"; // the final metric compared across variants
  bool higher_is_better = true;             // `goal: max` (true) or `goal: min`
  std::vector<StudyVariant> variants;       // the first is the reference (PBT-NAS) of the comparisons
  std::vector<std::uint64_t> seeds;
  std::vector<StudyRun> runs;               // variants x seeds, variant-major
};

// Parses a study file's text. `base_text` is the base config's text (read by the caller from
// base_path, i.e. resolve_study_base). Every derived config is validated by parse_config (the
// search keys); the task section is validated by the caller (it belongs to the task registry).
// Throws std::invalid_argument naming the file, the key (or the variant) and the fix.
Study parse_study(const std::string& study_text, const std::string& study_path, const std::string& base_text);
// The base config path of a study file: its `base:` resolved against the study file's folder.
std::string resolve_study_base(const std::string& study_text, const std::string& study_path);
// Reads the study file and its base config, then parse_study.
Study load_study(const std::string& study_path);

// ---- the run plan (OUT/study_runs.tsv): what study-report needs without the study file
std::string plan_text(const Study& study);
// Back from plan_text: variants (names and overrides), seeds, runs (no config_text), metric,
// goal. Throws std::invalid_argument naming `origin` when the text is not a plan.
Study parse_plan(const std::string& text, const std::string& origin);

// ---- the metrics of the run's own search fitness (every task has them; the others are the task's
// final metrics of the best-ever member, summary.json best_ever.evaluation)
inline constexpr const char* kBestEverFitness = "best_ever_fitness";  // summary.json best_ever.fitness
// The best search fitness of the final population (the last generation's largest fitness in
// metrics.jsonl): the paper's metric for RL (the best member of the last population's score).
inline constexpr const char* kBestLastFitness = "best_last_fitness";
bool is_fitness_metric(const std::string& metric);  // one of the two: larger is better, no final evaluation

// The signed-rank alternative for "the reference is better": reference - other tends to be
// positive when larger is better (Greater), negative otherwise (Less).
Alternative better_alternative(bool higher_is_better);

// ---- statistics
double mean_of(const std::vector<double>& x);             // NaN for an empty sample
double population_std(const std::vector<double>& x);      // sqrt(sum (x - mean)^2 / n); NaN when empty

// The rank tests (rank-sum, signed-rank): rank_tests.hpp.

// ---- the report
// One finished run's numbers (read from summary.json and metrics.jsonl by the CLI).
struct RunOutcome {
  int run = 0;                             // StudyRun::index
  bool finished = false;                   // summary.json present
  double final_metric = 0.0;               // NaN: missing (e.g. a failed final evaluation)
  std::vector<double> best_per_generation; // best fitness of the population in each generation
  std::string note;                        // why it is missing, when it is
  // The run's search fitness, whatever the metric (NaN: missing): next to the metric in the report.
  double best_ever_fitness = std::numeric_limits<double>::quiet_NaN();
  double best_last_fitness = std::numeric_limits<double>::quiet_NaN();
};

struct VariantStats {
  std::string name;
  std::string overrides;
  std::vector<std::uint64_t> seeds;         // the seeds that count (finished, metric present)
  std::vector<double> values;               // their final metrics, in seed order
  double mean = 0.0, std = 0.0, min = 0.0, max = 0.0;
  // Best fitness per generation over the finished runs: mean, population std, min, max, n.
  std::vector<double> gen_mean, gen_std, gen_min, gen_max;
  std::vector<int> gen_n;
  // The search fitness of the finished runs (best-ever member, final population's best member):
  // their values in seed order (NaN where missing), mean and population std over the finite ones.
  std::vector<double> best_ever_fitness, best_last_fitness;
  double best_ever_mean = 0.0, best_ever_std = 0.0, best_last_mean = 0.0, best_last_std = 0.0;
  int best_ever_n = 0, best_last_n = 0;
};

struct VariantComparison {
  std::string reference, other;
  RankSumTest test;            // two-sided rank-sum test of the two variants' values
  bool valid = false;          // both variants have at least one value
  // Paired by seed (the seeds both variants have a value for): the Wilcoxon signed-rank test of
  // reference - other, one-sided towards the reference being better (better_alternative).
  std::vector<std::uint64_t> paired_seeds;
  SignedRankTest paired;
  bool paired_valid = false;   // at least one pair
};

struct StudyReport {
  std::string study;          // the study file or folder it came from
  std::string metric;
  bool higher_is_better = true;
  std::vector<VariantStats> variants;
  std::vector<VariantComparison> comparisons;  // the first variant against every other
  std::vector<std::string> missing;            // "variant seed N: why", for runs that do not count
};

// Per-variant statistics and the comparisons; outcomes are matched to runs by RunOutcome::run.
StudyReport summarize_study(const Study& study, const std::vector<RunOutcome>& outcomes);
// Its Markdown (study.md) is report/study_markdown.hpp.

// ---- pooling over settings (`pbtnas study-report DIR... --pooled`), as the paper's tests: the
// reference against each other variant, paired by (setting, seed), one signed-rank test over all
// pairs of all settings.
struct PooledPair {
  std::string setting;
  std::uint64_t seed = 0;
  double reference = 0.0, other = 0.0;
};

struct PooledComparison {
  std::string reference, other;
  std::vector<PooledPair> pairs;  // setting by setting, seed order within each
  SignedRankTest test;            // of reference - other, better_alternative(higher_is_better)
  bool valid = false;             // at least one pair
};

struct PooledReport {
  std::vector<std::string> settings;   // one name per study (its folder), in the order given
  std::vector<StudyReport> studies;    // their per-variant statistics
  std::string metric;
  bool higher_is_better = true;
  std::string reference;               // the first variant, the same in every study
  std::vector<PooledComparison> comparisons;  // the variants of the first study that every study has
  std::vector<std::string> notes;      // variants left out, settings that add no pair
};

// Throws std::invalid_argument, naming the setting and the fix, when the studies disagree on the
// metric, the goal or the reference variant, when a setting is given twice, or when there is none.
PooledReport pool_studies(const std::vector<std::string>& settings, const std::vector<StudyReport>& studies);
// Its Markdown (pooled.md) is report/study_markdown.hpp.

}  // namespace pbtnas
