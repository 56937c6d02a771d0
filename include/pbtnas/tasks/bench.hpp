#pragma once
// A task's benchmark (`pbtnas bench-<task> CONFIG`), declared in its registry entry
// (TaskEntry::bench): the command line builds one subcommand per entry that has one, with the
// options the task lists here, and hands the parsed values over. docs/performance.md shows the
// figures; docs/architecture.md, "Adding a task".
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace pbtnas {

struct RunConfig;

// One option of a task's benchmark subcommand: `--name VALUE` (or a switch `--name`).
struct BenchFlag {
  std::string name;           // without the dashes, e.g. "iters"
  std::string default_value;  // as text; a switch's is "false"
  std::string help;
  bool is_switch = false;
};

// What the command line hands to the task's benchmark.
struct BenchRequest {
  std::string config_path;
  const RunConfig* config = nullptr;          // parsed with the task's options bound
  std::map<std::string, std::string> values;  // every BenchFlag's value by name (given or default)
  // A file that ships with pbtnas (e.g. jobs/bench/*.py) as a usable path: the path itself when it
  // exists, else found next to the executable's checkout or install.
  std::function<std::string(const std::string&)> find_file;

  const std::string& text(const std::string& name) const;
  // The value as an integer in [lo, hi]; std::invalid_argument "--name must be ..." otherwise.
  long long integer(const std::string& name, long long lo, long long hi) const;
  double number(const std::string& name) const;
  bool on(const std::string& name) const;  // a switch
};

struct TaskBench {
  std::string help;            // the subcommand's description
  std::string example_config;  // shown in the help of CONFIG
  std::vector<BenchFlag> flags;
  // Prints the figures on stdout; throws std::invalid_argument (bad options) or std::runtime_error.
  std::function<void(const BenchRequest&)> run;  // empty: the task has no benchmark
};

}  // namespace pbtnas
