#pragma once
// RunConfig: the search keys of a run's YAML file, the task's name and the task's options.
// Unknown keys and invalid values are rejected with the key named and the valid range
// (docs/config.md lists every key). The task section (`classify:`, `gan:`, ...) belongs to the
// task: its options struct parses and validates it (tasks/registry.hpp, parse_run_config).
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "pbtnas/core/selection.hpp"

namespace pbtnas {

enum class Algorithm { PbtNas, Mutation, Random };
const char* to_string(Algorithm a);

// Mix after the step that ends at epoch e when: every == 0, or e >= until, or e % every == 0.
// (docs/algorithm.md, "Mixing schedule"; RL configs use every 20 until 150.) Never after the last step.
struct MixSchedule {
  int every = 0;
  int until = 0;
};

// Base of every task's options struct (e.g. ClassifyOptions, gan::GanOptions): the parsed and
// validated task section, held by RunConfig without the core knowing its type.
struct TaskOptions {
  virtual ~TaskOptions() = default;
};

// Exact points of a run at which the signal testing hooks act (testing.raise_signal,
// testing.wait_for_signal): right after rank 0 sends the train order of a generation (a worker:
// when it starts training it), and right after the generation is committed (rank 0).
enum class RunPoint { DuringTraining, AfterCommit };
const char* to_string(RunPoint p);

// testing.raise_signal: `rank` raises `signal` `count` times in a row at `when` of `generation`,
// as if it had come from outside (the second of two abandons the generation at once).
// testing.wait_for_signal: rank 0 writes OUT/testing_waiting_for_signal at `when` of `generation`
// and waits (up to `timeout_seconds`) for `count` stop signals from outside, so that a test can
// signal mpirun or a launcher at an exact point. Off while generation is -1. Both act only in a
// run that starts fresh, so that the same command (the same config) resumes past them.
struct SignalHook {
  std::int64_t generation = -1;
  RunPoint when = RunPoint::DuringTraining;
  std::string signal = "INT";  // INT, TERM or USR1 (raise_signal)
  int count = 1;               // signals raised / waited for: 1 or 2
  int rank = 0;                // raise_signal: the raising rank, -1: every rank
  double timeout_seconds = 300.0;  // wait_for_signal
  bool enabled() const { return generation >= 0; }
};

// One key of the effective config: every key a parser read, with its value after the read (the
// default when the file does not give it). `key` is dotted ("checkpoint.keep", "classify.lr");
// `value` is YAML text (numbers in their shortest exact form, so that equal values compare equal).
struct EffectiveKey {
  std::string key;
  std::string value;
  bool is_string = false;  // a string value (written quoted when YAML would read it otherwise)
};

struct CheckpointConfig {
  int keep = 2;  // committed generations kept on disk (0: keep all)
};

// The random search + shrink-perturb ablation (docs/algorithm.md, "Random search +
// shrink-perturb"): before every step but the first, each member's networks become
// shrink * w + perturb * w_fresh. YAML `shrink_perturb_always: [0.4, 0.1]`; only with
// algorithm random.
struct AlwaysShrinkPerturb {
  bool enabled = false;
  double shrink = 0.4;
  double perturb = 0.1;
};

struct RunConfig {
  std::uint64_t seed = 31173;
  Algorithm algorithm = Algorithm::PbtNas;
  SelectionConfig selection;        // population_size, n_children, fractions
  double swap_probability = 0.25;   // replace_arch_percent
  double shrink = 0.4;              // lambda of shrink_perturb [lambda, gamma]
  double perturb = 0.1;             // gamma
  bool mix_with_itself = false;     // ablation "no mixing"
  AlwaysShrinkPerturb shrink_perturb_always;  // ablation of random search (off by default)
  int max_epochs = 300;
  int epochs_step = 10;
  MixSchedule mix_schedule;
  std::string task;  // the registered task ("" until parse_run_config names the default; docs/config.md)
  // Without `task:`, the name of the one task section the config has ("" none): parse_run_config
  // checks that it belongs to the default task.
  std::string task_section;
  std::shared_ptr<const TaskOptions> task_options;  // set by parse_run_config (registry.hpp)
  CheckpointConfig checkpoint;
  // Final evaluation: also the greedy soup of the final population's members that share the best
  // member's architecture (docs/algorithm.md, "Model soups"), built by rank 1 from the last
  // committed generation and reported next to the best-ever member.
  bool final_soup = false;
  int threads_per_rank = 0;         // 0: cores on the node / ranks on the node
  std::string device = "auto";      // auto | cpu | cuda
  double progress_seconds = 2.0;    // live progress: workers' note interval, rank 0's refresh (0: off)
  // Seconds a worker that owes rank 0 a message may stay silent before the job is stopped as hung
  // (exit 4; docs/slurm.md, "Multiple nodes"): 0 derives it (worker_timeout_seconds), -1 never.
  double worker_timeout = 0.0;
  // Placement of members on workers: round_robin (fixed), or measured (after each generation,
  // rebalanced by its measured training seconds; docs/performance.md, "Utilisation and balancing").
  std::string balance = "round_robin";
  // Testing hooks (docs/config.md, `testing:`): faults injected at exact points.
  int nan_member = -1;              // this member reports a NaN loss in generation nan_generation
  int nan_generation = -1;
  int crash_after_commit = -1;      // rank 0 dies (SIGKILL) right after committing this generation
  int stop_after_generation = -1;   // a stop request (as SIGUSR1) arrives during this generation
  SignalHook raise_signal;          // a real signal raised at an exact point (see SignalHook)
  SignalHook wait_for_signal;       // rank 0 waits at an exact point for a signal from outside
  bool balance_cost_by_id = false;  // with balance: measured, member m costs m + 1 (not its seconds)
  bool fail_best_ever_evaluation = false;  // the final evaluation of best_ever.h5 fails (an error, exit 2)
  int hang_rank = -1;               // this worker rank stops answering (blocks for ever) ...
  int hang_generation = -1;         // ... when it is told to train this generation
  // Rank 0 shows the live progress after every member result (not after progress_seconds), so
  // that a test sees an exact number of progress lines.
  bool progress_every_result = false;
  int slow_rank = -1;               // this worker rank trains slowly (it keeps sending progress) ...
  int slow_generation = -1;         // ... in this generation:
  double slow_step_seconds = 0.1;   // each training step (batch, GAN iteration, agent step) waits this long

  // The task options as their concrete type; throws when they are absent or of another task.
  template <class Options>
  const Options& options() const {
    auto* o = dynamic_cast<const Options*>(task_options.get());
    if (!o)
      throw std::logic_error("RunConfig: the options of task '" + task +
                             "' are not bound or not of the requested type; build the config with "
                             "parse_run_config/load_run_config (tasks/registry.hpp)");
    return *o;
  }

  std::string source_text;          // the YAML as read, stored in every checkpoint
  // Every key with its effective value, in the order the parsers read them: the search keys
  // (parse_config), then the task's section (parse_run_config). Compared on resume.
  std::vector<EffectiveKey> effective;

  int n_steps() const { return max_epochs / epochs_step; }
  // The silence allowed to a worker (runtime.worker_timeout): the key when > 0; when 0,
  // max(900 s, 3 x the longest generation so far), or 3600 s before any generation has been
  // measured; a negative value (never) for -1.
  double worker_timeout_seconds(double longest_generation_seconds) const;
  // Whether to exploit after the step that ends at `next_epoch`.
  bool mix_after(int next_epoch) const;
  // Throws std::invalid_argument naming the key and the valid range.
  void validate() const;
};

// Parses and validates the search keys; the task section (the key named like `task`) is left for
// the task (task_options stays null; tasks/registry.hpp's parse_run_config binds it). `origin`
// names the file in error messages. Throws std::invalid_argument.
RunConfig parse_config(const std::string& yaml_text, const std::string& origin);
// The file's text; throws std::invalid_argument when it cannot be read.
std::string read_config_file(const std::string& path);

// `--set key=value` overrides: `yaml_text` with each dotted key set to its value (YAML: a
// number, a word, a list "[0.4, 0.1]"). Sections are created as needed; the result is YAML text
// (comments are not kept). Throws std::invalid_argument for an override without '=' or a key
// whose parent is not a mapping. Unknown keys are left to the parser ("not a known key").
std::string apply_overrides(const std::string& yaml_text, const std::vector<std::string>& overrides);

// The effective config as YAML, every default included (`pbtnas check --print-config`).
std::string effective_yaml(const std::vector<EffectiveKey>& keys);

// Keys that may differ between a run and its resume (docs/config.md, "Resuming"): the run's
// length (max_epochs), how it runs (runtime.*), what is kept (checkpoint.keep), the final soup
// and the testing hooks. Every other key must be equal.
bool changes_on_resume(const std::string& key);
struct ConfigChange {
  std::string key, before, after;  // "(absent)" where one side lacks the key
};
// The keys whose effective values differ between `before` and `after`, in `after`'s order
// (then keys only `before` has).
std::vector<ConfigChange> config_changes(const std::vector<EffectiveKey>& before,
                                         const std::vector<EffectiveKey>& after);

}  // namespace pbtnas
