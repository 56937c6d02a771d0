#pragma once
// What `pbtnas study` (study_command.cpp) and `pbtnas study-report` (study_report_command.cpp)
// share: the study folder's plan file and how its small files are read and written.
#include <string>

namespace pbtnas::cli::study_files {

inline constexpr const char* kPlanFile = "study_runs.tsv";  // OUT/study_runs.tsv: the study's runs

// The whole file ("" when it cannot be read).
std::string read_text(const std::string& path);
// Written next to the target and renamed onto it (util/files.hpp): readers never see a partial
// file, and array tasks that write the same file at once do not interleave.
void write_atomic(const std::string& path, const std::string& text);

}  // namespace pbtnas::cli::study_files
