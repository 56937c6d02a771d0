#pragma once
// A run folder as the report reads it (docs/report.md): the newest committed index.h5 (it holds
// the whole history of incarnations, even when older generation folders were pruned),
// metrics.jsonl, workers.jsonl, summary.json and a few keys of the config text. No LibTorch.
#include <cstdint>
#include <limits>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "pbtnas/index/generation_index.hpp"

namespace pbtnas::report {

constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

// One metrics.jsonl row of a member: its training result in one generation.
struct MemberRow {
  std::int64_t generation = 0;
  int member = 0;
  int epoch = 0;
  double fitness = kMissing;  // NaN: null in the file (a diverged member)
  bool diverged = false;
  double train_loss = kMissing;
  double train_seconds = kMissing;
  std::vector<std::string> architecture;  // option name of each gene
  // Costs measured for selection.objectives (NaN: not measured).
  double parameters = kMissing, latency_ms = kMissing;
};

// Time and traffic of one generation. Train / exploit / checkpoint seconds and bytes come from a
// generation row of metrics.jsonl (a row without "member") when the run wrote one; busy and wait
// seconds per worker (index = rank - 1) from workers.jsonl. NaN: not recorded.
struct GenerationTiming {
  std::int64_t generation = 0;
  double train_seconds = kMissing, exploit_seconds = kMissing, checkpoint_seconds = kMissing;
  double bytes_sent = kMissing;
  std::vector<double> busy_seconds, wait_seconds;
  // The training phase's wall time: train_seconds, else the slowest worker's busy + wait.
  double train_phase_seconds() const;
};

// summary.json (written when the search finished).
struct Summary {
  bool present = false;
  double best_ever_fitness = kMissing;
  int best_ever_member = -1;
  std::int64_t best_ever_generation = -1;
  std::vector<std::pair<std::string, double>> evaluation;  // final evaluation of best_ever.h5
  std::string evaluation_error;
  long long parameters = -1;
  int best_member = -1;  // of the final population
  double fitness = kMissing, test_score = kMissing;  // Task::fitness / Task::test_score of best_member
  std::vector<std::pair<std::string, double>> scores;  // the same in the task's words ("scores")
  std::vector<std::string> architecture;  // of best_member
  // "soup" (final_soup): the greedy soup of the final population, next to its best member.
  bool has_soup = false;
  int soup_best_member = -1;
  std::size_t soup_members = 0, soup_candidates = 0;
  std::string soup_fitness_name, soup_error;
  double soup_fitness = kMissing, soup_best_fitness = kMissing;
  std::vector<std::pair<std::string, double>> soup_evaluation, soup_best_evaluation;
};

struct RunData {
  std::string out;
  std::string index_path;  // the index read
  io::GenerationIndex index;
  std::string task;               // the config's `task` ("": the default task)
  std::string fitness_label;      // the task's fitness in words ("": plain "fitness"; ReportOptions)
  int steps = 0;                  // generations of the whole run (max_epochs / epochs_step; 0: unknown)
  std::vector<MemberRow> rows;    // by (generation, member), generations <= index.generation
  std::vector<GenerationTiming> timings;  // one per generation that has any, ascending
  Summary summary;
  std::vector<std::string> notes;  // what the reader skipped and why

  std::int64_t last_generation() const { return index.generation; }
  // Whether the run kept sample images (OUT/samples/, written by tasks that make images): the
  // report asks the run folder, not the task's name.
  bool has_samples() const { return std::filesystem::is_directory(out + "/samples"); }
};

// Reads OUT. Throws std::runtime_error naming what is missing when OUT holds no committed
// generation (e.g. "OUT/checkpoints has no gen_* folder: is OUT the --out of a pbtnas run?").
RunData read_run(const std::string& out);

// The parsers, on file contents (for tests). Malformed lines are skipped with a note.
std::vector<MemberRow> parse_metrics(const std::string& jsonl, std::vector<GenerationTiming>& timings,
                                     std::vector<std::string>& notes);
void parse_workers(const std::string& jsonl, std::vector<GenerationTiming>& timings,
                   std::vector<std::string>& notes);
Summary parse_summary(const std::string& json_text);
// `task` and max_epochs / epochs_step of a config text, as the core parses them (task "" when the
// config leaves it to the default); an unreadable config gives "" and 0 steps.
void parse_config_keys(const std::string& yaml, std::string& task, int& steps);

}  // namespace pbtnas::report
