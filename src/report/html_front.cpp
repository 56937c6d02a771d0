// report.html's Pareto front section (selection.objectives): an inline SVG scatter of the last
// generation's members, fitness against each measured cost, the first non-dominated front drawn
// in colour and joined by a line.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "html_sections.hpp"
#include "pbtnas/core/objectives.hpp"
#include "pbtnas/report/html_report.hpp"

namespace pbtnas::report {
namespace {

struct Cost {
  const char* name;  // the objective
  const char* label;
  double MemberRow::*field;
};

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

// One scatter: x the cost (lower is better), y the fitness; `front` are indices into `rows`.
std::string scatter(const std::vector<const MemberRow*>& rows, const std::vector<int>& front, const Cost& cost,
                    const std::string& y_label) {
  const double W = 560, H = 360, L = 70, R = 20, T = 20, B = 50;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const MemberRow* r : rows) {
    x0 = std::min(x0, r->*cost.field), x1 = std::max(x1, r->*cost.field);
    y0 = std::min(y0, r->fitness), y1 = std::max(y1, r->fitness);
  }
  if (x1 <= x0) x0 -= 1, x1 += 1;
  if (y1 <= y0) y0 -= 1, y1 += 1;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  std::ostringstream s;
  s << "<svg class=\"front\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W << " " << H
    << "\" role=\"img\"><rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\""
    << H - T - B << "\" fill=\"none\" stroke=\"#999\"/>\n";
  s << "<text x=\"" << (W + L) / 2 << "\" y=\"" << H - 12 << "\" text-anchor=\"middle\">" << cost.label
    << " (" << fmt(x0) << " \u2013 " << fmt(x1) << ")</text>\n";
  s << "<text x=\"16\" y=\"" << (H - B + T) / 2 << "\" transform=\"rotate(-90 16 " << (H - B + T) / 2
    << ")\" text-anchor=\"middle\">" << html_escape(y_label) << " (" << fmt(y0) << " \u2013 " << fmt(y1)
    << ")</text>\n";
  std::vector<int> line = front;  // the front joined in order of the cost
  std::sort(line.begin(), line.end(), [&](int a, int b) { return rows[a]->*cost.field < rows[b]->*cost.field; });
  s << "<polyline fill=\"none\" stroke=\"#d62728\" points=\"";
  for (int i : line) s << px(rows[i]->*cost.field) << "," << py(rows[i]->fitness) << " ";
  s << "\"/>\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const bool on = std::find(front.begin(), front.end(), static_cast<int>(i)) != front.end();
    s << "<circle cx=\"" << px(rows[i]->*cost.field) << "\" cy=\"" << py(rows[i]->fitness) << "\" r=\""
      << (on ? 6 : 4) << "\" fill=\"" << (on ? "#d62728" : "#1f77b4") << "\"><title>member " << rows[i]->member
      << ": fitness " << fmt(rows[i]->fitness) << ", " << cost.name + 1 << " " << fmt(rows[i]->*cost.field)
      << (on ? " (Pareto front)" : "") << "</title></circle>\n";
  }
  return s.str() + "</svg>\n";
}

}  // namespace

std::string section_front(const ReportContext& c) {
  const std::int64_t g = c.run.last_generation();
  std::vector<const MemberRow*> rows;
  for (const auto& r : c.run.rows)
    if (r.generation == g && std::isfinite(r.fitness)) rows.push_back(&r);
  const Cost costs[] = {{"-parameters", "parameters", &MemberRow::parameters},
                        {"-latency_ms", "latency ms (median forward pass of a batch)", &MemberRow::latency_ms}};
  std::ostringstream s;
  bool any = false;
  for (const Cost& cost : costs) {
    std::vector<const MemberRow*> measured;
    for (const MemberRow* r : rows)
      if (std::isfinite(r->*cost.field)) measured.push_back(r);
    if (measured.empty()) continue;
    any = true;
    std::vector<std::vector<double>> points;  // maximised: fitness, -cost
    for (const MemberRow* r : measured) points.push_back({r->fitness, -(r->*cost.field)});
    const std::vector<int> front = pareto_front(points);
    s << "<h3>Fitness against " << cost.label << "</h3>\n<p>Front (" << front.size() << " of " << measured.size()
      << "): members";
    for (int i : front) s << " " << measured[static_cast<std::size_t>(i)]->member;
    s << ".</p>\n" << scatter(measured, front, cost, c.series.y_label);
  }
  if (!any) return "";
  return "<section id=\"front\"><h2>Pareto front of generation " + std::to_string(g) +
         "</h2>\n<p>Every member of the last committed generation (selection.objectives); the first "
         "non-dominated front of fitness against each cost in red. <code>pbtnas export</code> exports any "
         "of them by member id.</p>\n" + s.str() + "</section>\n";
}

}  // namespace pbtnas::report
