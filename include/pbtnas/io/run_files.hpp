#pragma once
// The production RunStore and RunReport: a run directory on disk.
//   H5RunStore: OUT/checkpoints (HDF5 member files + index.h5 committed atomically, run_dir.hpp),
//               OUT/best_ever.h5; resume with the one policy of io::resume_generation.
//   LogRunReport: rank 0's lines through the Logger, OUT/metrics.jsonl (one row per member per
//               generation), OUT/workers.jsonl (one row per worker per generation: busy and
//               waiting seconds), OUT/summary.json.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "pbtnas/core/config.hpp"
#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/io/metrics_log.hpp"
#include "pbtnas/core/log.hpp"
#include "pbtnas/protocol/run_report.hpp"
#include "pbtnas/protocol/run_store.hpp"
#include "pbtnas/core/search_space.hpp"

namespace pbtnas::io {

// Whether a committed run may go on under the config at hand: given the config text stored in its
// newest committed generation and the epoch that generation reached, a refusal ("" to go on;
// worded to follow "OUT ") and a note for the log (e.g. the keys that changed).
struct ConfigVerdict {
  std::string refusal;
  std::string note;
};
using ConfigCheck = std::function<ConfigVerdict(const std::string& stored_yaml, int next_epoch)>;

// Why `out` cannot become a run folder ("" when it can): it is a file, or its nearest existing
// parent is not a writable folder. Creates nothing.
std::string run_folder_problem(const std::string& out);

class H5RunStore : public RunStore {
 public:
  // Creates nothing (LogRunReport::started creates `out`); throws when `out` cannot become a run
  // folder. `log` receives the lines of skipped, uncommitted generations. `check` decides whether
  // a committed run may resume under `cfg` (empty: the config text must be the same).
  H5RunStore(std::string out, const RunConfig& cfg, const SearchSpace& space, Logger& log, ConfigCheck check = {});
  ~H5RunStore() override;  // waits for the pruned generations' deletion
  std::string location() const override { return out_; }
  // Refuses a directory that holds a run of another config, and a newest committed generation
  // that fails verification (io::resume_generation).
  std::optional<CommittedState> resume() override;
  void discard_after(std::int64_t generation) override;
  void keep_best_ever(std::int64_t generation, int member) override;
  // Writes index.h5 (the commit) and prunes: the pruned generations' files are deleted by a
  // background thread while the run goes on (docs/checkpoint-format.md, "Pruning");
  // testing.crash_after_commit kills the process here.
  void commit(const GenerationCommit& commit) override;
  std::string best_ever_file() const override;
  std::string describe(std::int64_t generation) const override;
  // OUT/summary.json exists and holds no failed evaluation: the run's final evaluation was written.
  bool finished() const override;

 private:
  std::string out_;
  const RunConfig& cfg_;
  const SearchSpace& space_;
  Logger& log_;
  ConfigCheck check_;
  std::thread pruner_;
  std::string pruner_error_;  // set by pruner_, reported by the next commit
  std::int64_t committed_generation_ = -1;                 // the last commit of this process
  std::map<int, MemberLocation> committed_locations_;     // and where it placed each member
  void join_pruner();
  void restore_best_ever(const GenerationIndex& idx);
  void copy_best_ever(std::int64_t generation, const MemberLocation& where, bool check_crc);
};

class LogRunReport : public RunReport {
 public:
  LogRunReport(std::string out, const RunConfig& cfg, const SearchSpace& space, Logger& log);
  void info(const std::string& line) override { log_.info(line); }
  void warn(const std::string& line) override { log_.warn(line); }
  void started(const RunStart& start) override;
  void scored(const GenerationSummary& s) override;  // metrics.jsonl rows, divergence notes
  // The live progress line: redrawn in place when the logger redraws, else a plain line at most
  // every kPlainProgressSeconds (logs, SLURM output).
  void progress(const TrainingProgress& p) override;
  static constexpr double kPlainProgressSeconds = 30.0;
  void generation(const GenerationSummary& s) override;
  void finished(const RunResult& r) override;

 private:
  std::string in_run(const std::string& path) const;
  // The parts of summary.json that finished() writes (each with its log lines).
  void best_ever_json(const RunResult& r, nlohmann::json& best_ever) const;
  nlohmann::json soup_json(const SoupReport& soup) const;
  nlohmann::json workers_json() const;
  nlohmann::json pareto_json(const RunResult& r) const;
  std::string out_;
  const RunConfig& cfg_;
  const SearchSpace& space_;
  Logger& log_;
  std::unique_ptr<MetricsLog> metrics_, workers_, generations_;  // *.jsonl (docs/checkpoint-format.md)
  double last_plain_progress_ = -1e300;           // elapsed_seconds of the last plain progress line
  std::int64_t last_plain_generation_ = -1;
};

}  // namespace pbtnas::io
