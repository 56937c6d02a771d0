// report.html sections about genes: the best architecture, where its weights came from, option
// frequencies per generation, and (GAN) the best member's sample grids.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "html_sections.hpp"
#include "pbtnas/index/run_dir.hpp"
#include "pbtnas/report/html_report.hpp"
#include "pbtnas/report/lineage.hpp"

namespace pbtnas::report {
namespace {

// The slot colours of the page's charts (same order as its script's palette).
const char* const kSlotColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
std::string slot_colour(int slot) { return kSlotColours[static_cast<std::size_t>(std::max(0, slot)) % 8]; }

// A pale background per option name (same name, same colour; "none" and friends grey).
std::string option_colour(const std::string& option) {
  if (option.empty() || option == "none" || option == "skip" || option == "id" || option == "identity" || option == "skip_connect")
    return "#eeeeee";
  unsigned h = 2166136261u;
  for (char ch : option) h = (h ^ static_cast<unsigned char>(ch)) * 16777619u;
  return "hsl(" + std::to_string(h % 360) + ",70%,86%)";
}

std::string hop_text(const GeneHop& hop) {
  const std::string slot = "slot " + std::to_string(hop.slot);
  switch (hop.how) {
    case HopKind::Initial: return slot + " (initial model, gen 0)";
    case HopKind::Fresh: return slot + " (new weights: architecture mutation after gen " + std::to_string(hop.generation) + ")";
    case HopKind::Inherited: return "\u2192 " + slot + " (with parent1's state after gen " + std::to_string(hop.generation) + ")";
    case HopKind::Donated: return "\u21d2 " + slot + " (mix donor's layer after gen " + std::to_string(hop.generation) + ")";
    case HopKind::Mutated: return "\u2192 " + slot + " (weight mutation after gen " + std::to_string(hop.generation) + ")";
  }
  return "?";
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string png_img(const std::string& path, const std::string& alt) {
  return "<img alt=\"" + html_escape(alt) + "\" src=\"data:image/png;base64," + base64_encode(read_bytes(path)) + "\">";
}

}  // namespace

std::string section_architecture(const ReportContext& c) {
  const RunData& run = c.run;
  const auto& names = run.index.gene_names;
  std::ostringstream s;
  s << "<section id=\"architecture\"><h2>Best architecture</h2>\n";
  if (c.best_inc < 0) return s.str() + "<p>No best member recorded yet.</p></section>\n";
  s << "<p>The best-ever member (slot " << c.best_slot << ", generation " << c.best_generation
    << "): its option per gene, grouped by cell / layer. The left edge of each option has the colour of the slot whose "
       "initial model or mutation created that layer's weights: ";
  for (std::size_t i = 0; i < std::min<std::size_t>(8, run.index.members.size()); ++i)
    s << "<span class=\"chip\" style=\"border-left:6px solid " << slot_colour(static_cast<int>(i)) << "\">slot " << i << "</span> ";
  s << "</p>\n<div class=\"arch\">\n";
  std::vector<std::pair<std::string, std::vector<int>>> groups;  // in order of first appearance
  for (std::size_t g = 0; g < names.size(); ++g) {
    const auto dot = names[g].rfind('.');
    const std::string key = dot == std::string::npos ? names[g] : names[g].substr(0, dot);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& p) { return p.first == key; });
    if (it == groups.end()) groups.push_back({key, {}}), it = groups.end() - 1;
    it->second.push_back(static_cast<int>(g));
  }
  std::vector<std::vector<GeneHop>> paths;
  for (std::size_t g = 0; g < names.size(); ++g) paths.push_back(gene_path(run.index.history, c.best_inc, static_cast<int>(g)));
  for (const auto& [key, genes] : groups) {
    s << "<div class=\"cell\"><div class=\"cell-title\">" << html_escape(key) << "</div>";
    for (int g : genes) {
      const auto dot = names[g].rfind('.');
      const std::string& opt = c.best_options[static_cast<std::size_t>(g)];
      const GeneHop& origin = paths[static_cast<std::size_t>(g)].front();
      s << "<div class=\"gene\" title=\"" << html_escape(names[g] + ": " + (opt.empty() ? "?" : opt) + "; weights from " + hop_text(origin))
        << "\"><span class=\"gname\">" << html_escape(dot == std::string::npos ? names[g] : names[g].substr(dot + 1))
        << "</span><span class=\"op\" style=\"background:" << option_colour(opt) << ";border-left:6px solid "
        << slot_colour(origin.slot) << "\">" << html_escape(opt.empty() ? "?" : opt) << "</span></div>";
    }
    s << "</div>\n";
  }
  s << "</div>\n<h3>Gene provenance</h3>\n<p>Where each layer's weights came from: the model that created them, then "
       "every model they passed through (\u2192 with the base's state, \u21d2 taken from a mix's donor) up to the best "
       "member. Generations are those after whose exploit the layer moved.</p>\n"
       "<details open><summary>"
    << names.size() << " genes</summary><table class=\"grid\"><tr><th>gene</th><th>option</th><th>weights created in</th>"
       "<th>path</th><th>lineage in index.h5</th></tr>\n";
  const MemberRecord* alive = nullptr;
  for (const auto& m : run.index.members)
    if (m.id == c.best_slot && m.incarnation == c.best_inc) alive = &m;
  for (std::size_t g = 0; g < names.size(); ++g) {
    const auto& path = paths[g];
    std::string p;
    for (std::size_t i = 0; i < path.size(); ++i) p += (i ? " " : "") + hop_text(path[i]);
    std::string stored = "(not alive)";
    if (alive && g < alive->lineage.size()) {
      stored.clear();
      for (int slot : alive->lineage[g]) stored += (stored.empty() ? "" : " \u2192 ") + std::to_string(slot);
    }
    s << "<tr><td>" << html_escape(names[g]) << "</td><td>" << html_escape(c.best_options[g]) << "</td><td>slot "
      << path.front().slot << (path.front().how == HopKind::Fresh ? ", after gen " + std::to_string(path.front().generation) : ", gen 0")
      << "</td><td class=\"left\">" << html_escape(p) << "</td><td>" << html_escape(stored) << "</td></tr>\n";
  }
  return s.str() + "</table></details></section>\n";
}

std::string section_options(const ReportContext& c) {
  const RunData& run = c.run;
  const auto& names = run.index.gene_names;
  const std::int64_t G = c.series.generations;
  // counts[gene][option][generation]
  std::vector<std::map<std::string, std::vector<int>>> counts(names.size());
  std::vector<int> population(static_cast<std::size_t>(std::max<std::int64_t>(0, G)), 0);
  for (const auto& r : run.rows) {
    if (r.architecture.size() != names.size() || r.generation < 0 || r.generation >= G) continue;
    ++population[static_cast<std::size_t>(r.generation)];
    for (std::size_t g = 0; g < names.size(); ++g) {
      auto& v = counts[g][r.architecture[g]];
      v.resize(static_cast<std::size_t>(G), 0);
      ++v[static_cast<std::size_t>(r.generation)];
    }
  }
  std::ostringstream s;
  s << "<section id=\"options\"><h2>Option frequencies</h2>\n<p>How many members used each option of each gene in "
       "each generation (darker: more). \u2605 marks the best-ever member's option.</p>\n"
       "<details open><summary>" << names.size() << " genes \u00d7 " << G << " generations</summary>"
       "<div class=\"scroll\"><table class=\"grid freq\"><tr><th>gene</th><th>option</th>";
  for (std::int64_t g = 0; g < G; ++g) s << "<th>" << g << "</th>";
  s << "</tr>\n";
  for (std::size_t g = 0; g < names.size(); ++g) {
    std::vector<std::string> options = g < run.index.gene_options.size() ? run.index.gene_options[g] : std::vector<std::string>{};
    for (const auto& [o, v] : counts[g])
      if (std::find(options.begin(), options.end(), o) == options.end()) options.push_back(o);
    bool first = true;
    for (const auto& o : options) {
      const bool best = o == c.best_options[g];
      s << "<tr" << (first ? " class=\"first\"" : "") << ">";
      if (first) s << "<td rowspan=\"" << options.size() << "\">" << html_escape(names[g]) << "</td>";
      s << "<td class=\"left\">" << (best ? "<b>\u2605 " : "") << html_escape(o) << (best ? "</b>" : "") << "</td>";
      auto it = counts[g].find(o);
      for (std::int64_t t = 0; t < G; ++t) {
        const int n = it == counts[g].end() ? 0 : it->second[static_cast<std::size_t>(t)];
        const int pop = population[static_cast<std::size_t>(t)];
        const double f = pop > 0 ? static_cast<double>(n) / pop : 0.0;
        s << "<td style=\"background:rgba(31,119,180," << num(0.85 * f, 3) << ")" << (f > 0.55 ? ";color:#fff" : "") << "\">"
          << (n ? std::to_string(n) : "") << "</td>";
      }
      s << "</tr>\n";
      first = false;
    }
  }
  return s.str() + "</table></div></details></section>\n";
}

std::string section_samples(const ReportContext& c) {
  const RunData& run = c.run;
  if (!run.has_samples()) return "";
  std::ostringstream s;
  s << "<section id=\"samples\"><h2>Samples of the best member's line</h2>\n<p>Sample grids of the models on the "
       "best-ever member's base line (parent1 ancestors), one per generation, as kept in <code>samples/</code>; then the "
       "best-ever member's grid after the final evaluation.</p>\n<div class=\"grids\">";
  int shown = 0;
  const auto line = c.best_inc >= 0 ? base_line(run.index.history, c.best_inc) : std::vector<std::int64_t>{};
  for (std::int64_t g = 0; g <= c.best_generation; ++g) {
    for (std::int64_t i : line) {
      const Incarnation& h = run.index.history[static_cast<std::size_t>(i)];
      const std::int64_t last = h.final_generation >= 0 ? h.final_generation : run.last_generation();
      if (h.birth_generation >= g || last < g) continue;
      const std::string path = io::sample_grid_path(run.out, g, h.slot);
      if (!std::filesystem::exists(path)) continue;
      const double f = static_cast<std::size_t>(h.slot) < c.series.members.size() ? c.series.members[static_cast<std::size_t>(h.slot)][static_cast<std::size_t>(g)] : NAN;
      s << "<figure>" << png_img(path, "generation " + std::to_string(g)) << "<figcaption>gen " << g << " \u00b7 slot " << h.slot
        << "<br>" << num(f, 5) << "</figcaption></figure>";
      ++shown;
    }
  }
  const std::string final_grid = io::final_grid_path(run.out);
  if (std::filesystem::exists(final_grid)) {
    s << "<figure class=\"final\">" << png_img(final_grid, "final") << "<figcaption>final evaluation</figcaption></figure>";
    ++shown;
  }
  if (shown == 0) s << "<p>No sample grids were kept for this member.</p>";
  return s.str() + "</div></section>\n";
}

}  // namespace pbtnas::report
