#pragma once
// Per-member, per-generation metrics as JSON Lines (one object a line) in the output folder.
// Opened in append mode; on resume, lines of generations after the committed one are dropped
// first so the file matches the checkpoint.
#include <cstdint>
#include <fstream>
#include <string>

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
};

class MetricsLog {
 public:
  // Keeps only the rows with generation <= keep_up_to (pass -1 for a new run: truncates).
  MetricsLog(const std::string& path, std::int64_t keep_up_to);
  void append(const MetricsRow& row);
  // Any other row: one JSON object (as text) with a "generation" key, e.g. workers.jsonl's.
  void append_json(const std::string& json_object);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace pbtnas::io
