#pragma once
// `pbtnas report OUT`: one self-contained HTML page about a run (docs/report.md) and its figures.
//   OUT/report.html          every script, style and image inlined: opens offline, can be mailed
//   OUT/report/fitness.png   fitness of every member per generation, best and median
//   OUT/report/lineage.png   the family tree (Graphviz), also lineage.svg and lineage.dot
// The page draws its charts with Chart.js (Debian: libjs-chart.js), read from its installed file
// and inlined; the lineage is laid out by Graphviz `dot` (Debian: graphviz). No LibTorch.
#include <functional>
#include <string>
#include <vector>

namespace pbtnas::report {

// What the report shows of the run's task, from whoever knows the tasks (the command line asks the
// task registry): the report itself names no task.
struct TaskWords {
  std::string name;           // the task's name ("" in the config means the registry's default)
  std::string fitness_label;  // e.g. "validation accuracy"; "" = plain "fitness"
};

struct ReportOptions {
  std::string html_path;  // "" = OUT/report.html
  std::string chart_js;   // Chart.js UMD bundle to inline; "" = $PBTNAS_CHART_JS, else the Debian file
  // The config's `task` value -> its words; unset or throwing: the value itself, plain "fitness".
  std::function<TaskWords(const std::string& task)> task_words;
};

struct ReportFiles {
  std::string html;
  std::vector<std::string> figures;  // PNG files written
  std::vector<std::string> notes;    // what the report could not show, and why
};

// Reads OUT (report/run_data.hpp) and writes the page and the figures. Throws std::runtime_error
// with the fix when OUT is not a run folder, Chart.js is missing ("apt-get install
// libjs-chart.js") or Graphviz is missing ("apt-get install graphviz").
ReportFiles write_run_report(const std::string& out, const ReportOptions& options = {});

// The Chart.js file used when ReportOptions::chart_js is empty.
std::string default_chart_js();

// Text for HTML element content and attribute values: & < > " ' escaped.
std::string html_escape(const std::string& text);
// Standard base64 (RFC 4648, with padding), for data: URIs.
std::string base64_encode(const std::string& bytes);
// Text placed inside <script>: the "<" of "</script" (any case) and of "<!--" becomes "\u003c",
// so that nothing ends the element early; inside JSON strings and JavaScript strings and regular
// expressions both spellings mean the same.
std::string script_safe(const std::string& text);

}  // namespace pbtnas::report
