#pragma once
// Study test fixtures shared by the core's statistics tests and the report's Markdown tests.
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "pbtnas/core/study.hpp"

namespace pbtnas::test {

// A small valid base config for parse_study.
inline const char* const kStudyBase = R"(seed: 1
algorithm: pbtnas
population_size: 4
parents_fraction: 0.5
shrink_perturb: [0.4, 0.1]
max_epochs: 3
epochs_step: 1
classify:
  channels: 4
  data: {train_limit: 100}
)";

// A study of `variants` (the first the reference) over seeds 1, 2, 3 with `metric` and `goal`, and
// outcomes values[variant][seed position] (NaN: the run did not finish).
inline StudyReport fid_study(const std::vector<std::string>& variants, const std::vector<std::vector<double>>& values,
                             const std::string& goal = "min", const std::string& metric = "fid") {
  std::string text = "base: b.yaml\nmetric: " + metric + "\ngoal: " + goal + "\nseeds: [1, 2, 3]\nvariants:\n";
  for (const auto& v : variants) text += "  - name: " + v + "\n";
  const Study st = parse_study(text, "s.yaml", kStudyBase);
  std::vector<RunOutcome> out;
  for (const auto& r : st.runs) {
    const double v = values[static_cast<std::size_t>(r.variant)][static_cast<std::size_t>(r.index % 3)];
    out.push_back({r.index, std::isfinite(v), v, {}, std::isfinite(v) ? "" : "interrupted"});
  }
  return summarize_study(st, out);
}

}  // namespace pbtnas::test
