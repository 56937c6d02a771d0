#pragma once
// Per-member, per-generation metrics as JSON Lines (one object a line) in the output folder.
// Opened in append mode; on resume, lines of generations after the committed one are dropped
// first so the file matches the checkpoint. The kept lines are written to PATH.tmp and renamed
// over PATH, so a process killed while it resumes leaves the old file whole.
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace pbtnas::io {

struct MetricsRow {
  std::int64_t generation = 0;
  int epoch = 0;             // epochs trained by the member's lineage at the end of the step
  int member = 0;
  double fitness = 0.0;      // NaN/inf written as null
  double train_loss = 0.0;
  std::int64_t samples = 0;
  double train_seconds = 0.0;
  bool diverged = false;
  std::string architecture;  // option names, space separated
  // Written only when measured (selection.objectives): scalar parameters (-1: not measured) and
  // the forward pass's median milliseconds (< 0: not measured).
  std::int64_t parameters = -1;
  double latency_ms = -1.0;
};

class MetricsLog {
 public:
  // Keeps only the rows with generation <= keep_up_to (pass -1 for a new run: truncates).
  MetricsLog(const std::string& path, std::int64_t keep_up_to);
  void append(const MetricsRow& row);
  // Any other row: one JSON object (as text) with a "generation" key, e.g. workers.jsonl's.
  void append_json(const std::string& json_object);
  const std::string& path() const { return path_; }
  // The newest generation among the rows kept when the log was opened; -1 when none was kept.
  std::int64_t last_kept_generation() const { return last_kept_; }

 private:
  std::string path_;
  std::ofstream out_;
  std::int64_t last_kept_ = -1;
};

// Training-phase utilisation of one worker (rank) summed over the rows of workers.jsonl.
struct WorkerTotals {
  int rank = 0;
  double busy_seconds = 0.0, wait_seconds = 0.0;
};
// Totals per rank (ascending) over every row of the workers.jsonl at `workers_path`: the whole
// run's generations, those of earlier processes of a resumed run included. Rows that do not
// parse are skipped; a missing file gives none.
std::vector<WorkerTotals> worker_totals(const std::string& workers_path);

// A generations.jsonl row rebuilt from the member rows of `generation` in the metrics.jsonl at
// `metrics_path`, for a generation that was committed by a process killed before it wrote its
// own row: generation, epoch, best_member, best_fitness and median_fitness (ranked as the
// coordinator ranks: a null fitness counts as -inf, ties go to the lower member id) and
// "recovered": true; its timings died with the process and are left out. Empty when the file
// has no member row of that generation.
std::optional<std::string> recovered_generation_row(const std::string& metrics_path, std::int64_t generation);

}  // namespace pbtnas::io
