#include "cli/run_checks.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "pbtnas/tasks/registry.hpp"

namespace pbtnas::cli {

RunConfig load_config_with(const std::string& path, const std::vector<std::string>& overrides) {
  std::string text = read_config_file(path);
  if (overrides.empty()) return parse_run_config(text, "'" + path + "'");
  try {
    text = apply_overrides(text, overrides);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("config '" + path + "': " + e.what());
  }
  return parse_run_config(text, "'" + path + "' with --set");
}

namespace {

// What a run, its report, its soup and its samples write into OUT (docs/outputs.md).
bool run_entry(const std::string& name) {
  static const std::set<std::string> names{
      "checkpoints",   "metrics.jsonl", "workers.jsonl", "generations.jsonl", "summary.json",
      "best_ever.h5",  "best_ever.h5.mismatched", "soup.json", "soup.h5", "report.html",
      "report",        "samples",       "testing_waiting_for_signal"};
  if (names.count(name)) return true;
  // Temporary files of an interrupted atomic write, and logs that users keep beside a run.
  return name.find(".tmp.") != std::string::npos ||
         (name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0);
}

}  // namespace

std::string out_folder_problem(const std::string& out) {
  namespace fs = std::filesystem;
  const std::string why = io::run_folder_problem(out);
  if (!why.empty() || !fs::is_directory(out)) return why;
  std::vector<std::string> foreign;
  bool has_checkpoints = false, has_summary = false;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(out, ec)) {
    const std::string name = e.path().filename().string();
    if (!run_entry(name)) foreign.push_back(name);
    has_checkpoints = has_checkpoints || name == "checkpoints";
    has_summary = has_summary || name == "summary.json";
  }
  // A summary.json without the checkpoints of a run is somebody else's file.
  if (has_summary && !has_checkpoints) foreign.push_back("summary.json (no checkpoints/ beside it)");
  if (foreign.empty()) return "";
  std::sort(foreign.begin(), foreign.end());
  std::string list;
  for (std::size_t i = 0; i < foreign.size() && i < 8; ++i) list += (i ? ", " : "") + foreign[i];
  if (foreign.size() > 8) list += ", ... (" + std::to_string(foreign.size()) + " in all)";
  return "--out " + out + " holds files that are not part of a pbtnas run: " + list +
         "; pass a new or empty folder, or the folder of the run to resume (nothing was written)";
}

io::ConfigVerdict resume_verdict(const RunConfig& cfg, const std::string& stored_yaml, int next_epoch) {
  io::ConfigVerdict v;
  RunConfig stored;
  try {
    stored = parse_run_config(stored_yaml, "(the run's stored config)");
  } catch (const std::exception& e) {
    v.refusal = std::string("holds a run whose stored config this pbtnas no longer reads (") + e.what() +
                "); use a new --out";
    return v;
  }
  std::string refused, allowed;
  for (const auto& c : config_changes(stored.effective, cfg.effective)) {
    const std::string line = c.key + ": " + c.before + " -> " + c.after;
    if (changes_on_resume(c.key)) allowed += (allowed.empty() ? "" : ", ") + line;
    else refused += "\n  " + line;
  }
  if (!refused.empty()) {
    v.refusal = "holds a run made with another config; these keys differ (run's value -> this config's):" + refused +
                "\nOnly max_epochs, checkpoint.keep, final_soup, runtime.* and testing.* may change when a run "
                "resumes (docs/config.md, \"Resuming\"). Set them back, or use a new --out";
    return v;
  }
  if (cfg.max_epochs < next_epoch) {
    v.refusal = "holds a run that has trained " + std::to_string(next_epoch) + " epochs, more than max_epochs " +
                std::to_string(cfg.max_epochs) + "; give max_epochs >= " + std::to_string(next_epoch) +
                " to resume it";
    return v;
  }
  if (!allowed.empty()) v.note = "config changes (run's value -> this config's): " + allowed;
  return v;
}

}  // namespace pbtnas::cli
