// report.html section of hyperparameter genes (core/hyper_genes.hpp): each member slot's value
// of every hyperparameter gene in every generation, shaded by its level in the gene's grid.
#include <algorithm>
#include <map>
#include <sstream>

#include "html_sections.hpp"
#include "pbtnas/core/hyper_genes.hpp"
#include "pbtnas/report/html_report.hpp"

namespace pbtnas::report {

std::string section_hyperparameters(const ReportContext& c) {
  const RunData& run = c.run;
  const auto& names = run.index.gene_names;
  const std::string prefix = kHyperGenePrefix;
  std::vector<std::size_t> genes;
  for (std::size_t g = 0; g < names.size(); ++g)
    if (names[g].compare(0, prefix.size(), prefix) == 0) genes.push_back(g);
  if (genes.empty()) return "";
  const std::int64_t G = c.series.generations;
  int slots = 0;
  std::map<std::pair<std::int64_t, int>, const MemberRow*> rows;
  for (const auto& r : run.rows)
    if (r.architecture.size() == names.size()) {
      rows[{r.generation, r.member}] = &r;
      slots = std::max(slots, r.member + 1);
    }
  std::ostringstream s;
  s << "<section id=\"hyperparameters\"><h2>Hyperparameter genes</h2>\n<p>The value each member slot trained with "
       "in each generation (darker: higher in the gene's range). A value changes when the slot receives a child "
       "(mixed from a parent, or explored by the mutation algorithm). \u2605 marks the best-ever member.</p>\n";
  for (std::size_t g : genes) {
    const std::vector<std::string> options = g < run.index.gene_options.size() ? run.index.gene_options[g]
                                                                                 : std::vector<std::string>{};
    s << "<details open><summary>" << html_escape(names[g].substr(prefix.size())) << ": " << slots << " slots \u00d7 "
      << G << " generations</summary><div class=\"scroll\"><table class=\"grid freq\"><tr><th>slot</th>";
    for (std::int64_t t = 0; t < G; ++t) s << "<th>" << t << "</th>";
    s << "</tr>\n";
    for (int m = 0; m < slots; ++m) {
      s << "<tr><td>" << m << "</td>";
      for (std::int64_t t = 0; t < G; ++t) {
        auto it = rows.find({t, m});
        if (it == rows.end()) {
          s << "<td></td>";
          continue;
        }
        const std::string& v = it->second->architecture[g];
        const auto pos = std::find(options.begin(), options.end(), v);
        const double f = options.size() > 1 && pos != options.end()
                             ? static_cast<double>(pos - options.begin()) / static_cast<double>(options.size() - 1)
                             : 0.0;
        const bool best = m == c.best_slot && t == c.best_generation;
        s << "<td style=\"background:rgba(44,160,44," << num(0.1 + 0.75 * f, 3) << ")" << (f > 0.6 ? ";color:#fff" : "")
          << "\">" << (best ? "\u2605" : "") << html_escape(v) << "</td>";
      }
      s << "</tr>\n";
    }
    s << "</table></div></details>\n";
  }
  s << "</section>\n";
  return s.str();
}

}  // namespace pbtnas::report
