#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pbtnas {
class MpiTransport;
struct RunConfig;
}  // namespace pbtnas

namespace pbtnas::cli {

// Prints a backtrace on SIGSEGV/SIGBUS/SIGFPE/SIGILL (re-installed after MPI_Init, which sets
// handlers of its own).
void install_crash_handler();

// The subcommand closest to a mistyped `word` ("" when none is close): "did you mean" hints.
std::string closest_subcommand(const std::string& word, const std::vector<std::string>& names);

// A benchmark's Python mirror script given relative to the repository (jobs/bench/...): the path
// itself when it exists from the working folder, else the same path relative to the folder above
// the executable's (build/pbtnas in a checkout), or PREFIX/share/pbtnas/ (an install). Absolute
// paths are returned as they are.
std::string find_script(const std::string& script);

// Why a file cannot be written at `path` ("" when it can): its folder is missing or not writable,
// or `path` is a folder. Creates nothing.
std::string writable_file_problem(const std::string& path);

// `pbtnas run CONFIG --out DIR [--set KEY=VALUE ...]`.
struct RunOptions {
  std::string config;
  std::string out;
  std::vector<std::string> sets;  // --set overrides, recorded in the run's stored config
};
int run_command(int argc, char** argv, const RunOptions& options);

// `pbtnas check CONFIG`: everything a run checks before it starts (config, ranks, output folder,
// device, the task with its data), without MPI and without training; `print_config`: the
// effective config with every default instead. 0, or 2 with a message.
struct CheckOptions {
  std::string config;
  std::vector<std::string> sets;
  int ranks = 0;            // > 0: check the population against this rank count
  std::string out;          // "": do not check an output folder
  bool print_config = false;
};
int check_command(const CheckOptions& options);

// `pbtnas status OUT` (also `pbtnas inspect OUT` on a folder): a run folder's config, progress,
// best member and whether it resumes (with `config`: whether that config may resume it).
struct StatusOptions {
  std::string out;
  std::string config;
  std::vector<std::string> sets;
};
int status_command(const StatusOptions& options);
// One search on an MPI session that is up (`transport` spans every rank; all ranks call it with
// the same validated config): rank 0 coordinates, the others work. Returns this rank's exit code
// (0, 2, 3); errors in the middle of a generation end the job with MPI_Abort. Used by `run` and,
// once per (variant, seed), by `study`.
int run_search(MpiTransport& transport, const RunConfig& cfg, const std::string& out);
// SIGUSR1, SIGINT and SIGTERM counted process-wide (the first: finish and commit the generation,
// exit 3; the second: exit 3 at once), and the count. Rank 0 of a run says so on stderr.
void install_stop_handler();
std::atomic<int>& stop_requests();

struct StudyOptions {
  std::string study;   // the study file
  std::string out;     // the study folder
  int only = -1;       // >= 0: run only this run (a SLURM array task), no report
  bool list = false;   // print the runs and their state, run nothing
};
int study_command(int argc, char** argv, const StudyOptions& options);
// Reads OUT/study_runs.tsv and every run's summary.json and metrics.jsonl; writes OUT/study.json,
// OUT/study.md and OUT/study.png.
int study_report_command(const std::string& out);
struct StudyReportOptions {
  std::vector<std::string> dirs;  // study folders (the --out of pbtnas study)
  bool pooled = false;            // one report over them: pooled.md, pooled.json in `out`
  std::string out = ".";          // --pooled only
  bool out_given = false;
};
// One folder: study_report_command(dirs[0]); --pooled: the pooled signed-rank tests over the
// folders (docs/study.md), written to OUT/pooled.md and OUT/pooled.json.
int study_report_command(const StudyReportOptions& options);
// `pbtnas inspect FILE` (a folder: status_command). `tensors`: every tensor, not a summary.
int inspect_command(const std::string& file, bool tensors);
// `pbtnas soup OUT`: the greedy model soup of the run's newest committed population (docs/algorithm.md,
// "Model soups"); OUT/soup.json (+ OUT/soup.h5). 0, or 2 with a message.
int soup_command(const std::string& out);
int bench_exchange_command(int argc, char** argv, const std::string& config, int reps);

// `pbtnas bench-TASK CONFIG [--FLAG VALUE ...]`: the benchmark of a task that has one (its registry
// entry's TaskEntry::bench, tasks/bench.hpp); `values` holds every flag the task declares. 0, or 2
// with a message.
struct BenchTaskOptions {
  std::string config;
  std::map<std::string, std::string> values;
  std::map<std::string, bool> switches;
};
int bench_task_command(const std::string& task, const BenchTaskOptions& options);

// `pbtnas bench-scale` (docs/performance.md, "Scale"): under `mpirun -n R`, the real coordinator
// and workers on the data-free toy task at each population size, printing per generation the
// plan time, protocol, exploit and checkpoint seconds and peak memory; with `plot_csv`, no MPI:
// draws `png` (and PNG_plan.png) from the CSV rows of several rank counts.
struct BenchScaleOptions {
  std::vector<int> members{16, 64, 256, 1024};
  int generations = 4;      // per population size (the first also pays first-time costs)
  int steps_per_epoch = 0;  // toy training work per member and generation (0: none)
  std::uint64_t seed = 31173;
  std::string out = "bench-scale";  // run folders, removed after each size unless `keep`
  bool keep = false;
  std::string csv;          // append the rows here ("" = print only)
  std::string plot_csv;     // plot mode: read this CSV ...
  std::string png = "bench_scale.png";  // ... and write this figure
};
int bench_scale_command(int argc, char** argv, const BenchScaleOptions& options);

// `pbtnas export FILE --out DIR` (docs/export.md): a member's network as DIR/model.pt (a state
// dict that torch.load reads), DIR/architecture.json, DIR/example.pt (fixed inputs and pbtnas's
// outputs) and, for the GAN task, DIR/discriminator.pt. Returns 0, or 2 with a message on stderr.
struct ExportOptions {
  std::string file;    // a member file (OUT/best_ever.h5, OUT/checkpoints/gen_N/member_M.h5)
  std::string out;     // the folder to write
  std::string config;  // the run's YAML config ("" = the config_yaml of the run's index.h5)
  int examples = 8;    // inputs in example.pt
};
int export_command(const ExportOptions& options);

}  // namespace pbtnas::cli
