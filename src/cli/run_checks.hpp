#pragma once
// The checks that `pbtnas run` makes before anything is created, shared with `pbtnas check` and
// `pbtnas status`: the config with its --set overrides, the output folder, and whether a
// committed run may go on under a config (docs/config.md, "Resuming").
#include <string>
#include <vector>

#include "pbtnas/core/config.hpp"
#include "pbtnas/io/run_files.hpp"

namespace pbtnas::cli {

// The config file with `--set key=value` overrides applied (recorded in the run's stored config),
// parsed and validated with its task's section. Throws std::invalid_argument.
RunConfig load_config_with(const std::string& path, const std::vector<std::string>& overrides);

// Why `out` cannot be the folder of a run ("" when it can): io::run_folder_problem, or entries that
// are not part of a pbtnas run (named, so that `run` never overwrites a user's own files).
std::string out_folder_problem(const std::string& out);

// Whether the committed run whose newest generation stored `stored_yaml` (and reached
// `next_epoch`) may go on under `cfg`: the effective values are compared, not the text, and
// only the keys of changes_on_resume (config.hpp) may differ; max_epochs may not end before
// `next_epoch`.
io::ConfigVerdict resume_verdict(const RunConfig& cfg, const std::string& stored_yaml, int next_epoch);

}  // namespace pbtnas::cli
