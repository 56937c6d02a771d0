#pragma once
// The report's numbers per generation and its PNG figures: fitness.png (a raster plot drawn with
// the study plotter's font and ticks) and lineage.png / lineage.svg (Graphviz `dot`, run as a
// subprocess). No LibTorch.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pbtnas/report/study_plot.hpp"
#include "pbtnas/report/run_data.hpp"

namespace pbtnas::report {

// Fitness of every slot per generation (x = 0-based generation 0..G), best and median over
// the finite values, and the exploit events: `replaced` (generation G, slot) = the slot's model
// was replaced after training in G; `children` (G + 1, slot) = its child's first generation.
struct FitnessSeries {
  std::int64_t generations = 0;              // G + 1
  std::vector<std::vector<double>> members;  // [slot][generation], NaN: no value
  std::vector<double> best, median;          // [generation]
  std::vector<std::pair<std::int64_t, int>> replaced, children;
  std::string y_label;                       // "fitness: " + the task's fitness label
};
FitnessSeries fitness_series(const RunData& run);
// What the fitness is for a task: "fitness: validation accuracy", "fitness: -FID", ...

// fitness.png: 1200 x 640.
RgbImage plot_fitness(const FitnessSeries& series);

// A line plot of named series (benchmark figures, e.g. bench-scale's overhead against the
// population size): optional log10 axes, a point and a line per series, a legend. On a log x
// axis the ticks are the series' x values; on a log y axis, powers of ten. Non-positive values
// on a log axis are left out.
struct LineSeries {
  std::string name;
  std::vector<double> x, y;
};
struct LinePlot {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;
  std::vector<LineSeries> series;
};
RgbImage plot_lines(const LinePlot& plot);  // 1200 x 640

// An 8-bit RGB PNG (zlib deflate, one IDAT chunk per 256 KiB). Throws std::runtime_error.
void write_png(const std::string& path, const RgbImage& image);

// The full path of an executable on PATH ("" when there is none).
std::string find_program(const std::string& name);
// Runs `dot -T<format> -o out_file dot_file`. Throws std::runtime_error when Graphviz is not
// installed (naming the Debian package) or dot fails.
void run_dot(const std::string& dot_file, const std::string& format, const std::string& out_file);

}  // namespace pbtnas::report
