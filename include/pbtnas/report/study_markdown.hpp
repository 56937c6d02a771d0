#pragma once
// The study reports as Markdown (`pbtnas study-report`, docs/study.md): the presentation of the
// statistics computed by core/study.hpp.
#include <string>

#include "pbtnas/core/study.hpp"

namespace pbtnas {

// study.md: the tables and the notes on the statistics (population std, which test, exact or
// normal approximation).
std::string study_markdown(const StudyReport& report);

// pooled.md: the per-setting table, the pooled tests and every pair.
std::string pooled_markdown(const PooledReport& report);

}  // namespace pbtnas
