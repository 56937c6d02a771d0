#pragma once
// The sections of report.html (internal to pbtnas_report): each returns an HTML fragment.
#include <cstdint>
#include <string>
#include <vector>

#include "pbtnas/report/figures.hpp"
#include "pbtnas/report/run_data.hpp"

namespace pbtnas::report {

// What the sections share: the run, its series and the best-ever member.
struct ReportContext {
  explicit ReportContext(const RunData& r) : run(r) {}
  const RunData& run;
  FitnessSeries series;
  std::int64_t best_inc = -1;  // history index of the best-ever member's incarnation
  int best_slot = -1;
  std::int64_t best_generation = -1;
  double best_fitness = 0.0;
  std::vector<std::string> best_options;  // its option name per gene ("" unknown)
  std::vector<double> inc_fitness;        // per incarnation: its last fitness (NaN unknown)
  std::string lineage_svg;                // Graphviz output, inlined
};
ReportContext make_context(const RunData& run);

std::string section_overview(const ReportContext& c);
std::string section_fitness(const ReportContext& c);  // canvas + per-generation table
std::string section_lineage(const ReportContext& c);
std::string section_architecture(const ReportContext& c);  // diagram + gene provenance
std::string section_options(const ReportContext& c);       // option frequencies per generation
std::string section_hyperparameters(const ReportContext& c);  // values per slot and generation ("" without them)
std::string section_samples(const ReportContext& c);       // GAN sample grids ("" for other tasks)
std::string section_timings(const ReportContext& c);
// Several objectives: the last generation's fitness against each measured cost, the Pareto front
// highlighted ("" when the run measured no cost).
std::string section_front(const ReportContext& c);
std::string section_config(const ReportContext& c);
// The JSON the page's script draws from (fitness series, exploit events, timings).
std::string chart_data_json(const ReportContext& c);

// Small formatting helpers shared with html_report.cpp.
std::string num(double v, int digits = 4);  // %.{digits}g, "–" for NaN
std::string gene_name(const RunData& run, int gene);

}  // namespace pbtnas::report
