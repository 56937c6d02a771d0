// Lineage of a run from the history of incarnations: edges, ancestry, gene paths, Graphviz text.
#include "pbtnas/report/lineage.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

namespace pbtnas::report {
namespace {

bool has_gene(const Incarnation& inc, int gene) {
  return std::find(inc.changed_genes.begin(), inc.changed_genes.end(), gene) != inc.changed_genes.end();
}

std::string dot_quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '\n') {  // a line break of the label
      q += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string node_id(std::int64_t i) { return "n" + std::to_string(i); }

}  // namespace

std::int64_t incarnation_at(const std::vector<Incarnation>& history, int slot, std::int64_t generation) {
  std::int64_t best = -1;
  for (std::size_t i = 0; i < history.size(); ++i) {
    const Incarnation& h = history[i];
    if (h.slot != slot || h.birth_generation >= generation) continue;
    if (best < 0 || h.birth_generation >= history[static_cast<std::size_t>(best)].birth_generation)
      best = static_cast<std::int64_t>(i);
  }
  return best;
}

std::vector<LineageEdge> lineage_edges(const std::vector<Incarnation>& history) {
  std::vector<LineageEdge> edges;
  for (std::size_t i = 0; i < history.size(); ++i) {
    const Incarnation& h = history[i];
    if (h.kind == ChildKind::Initial || h.birth_generation < 0) continue;
    const std::int64_t child = static_cast<std::int64_t>(i);
    const std::int64_t p1 = incarnation_at(history, h.parent1, h.birth_generation);
    const std::int64_t p2 = h.kind == ChildKind::Mix ? incarnation_at(history, h.parent2, h.birth_generation) : -1;
    const bool donor = p2 >= 0 && p2 != p1;
    if (p1 >= 0)
      edges.push_back({p1, child, false, h.kind, h.birth_generation, donor ? std::vector<int>{} : h.changed_genes});
    if (donor) edges.push_back({p2, child, true, h.kind, h.birth_generation, h.changed_genes});
  }
  return edges;
}

std::vector<std::int64_t> ancestry(const std::vector<Incarnation>& history, std::int64_t inc) {
  std::set<std::int64_t> seen;
  if (inc < 0 || inc >= static_cast<std::int64_t>(history.size())) return {};
  std::vector<std::int64_t> todo{inc};
  while (!todo.empty()) {
    const std::int64_t i = todo.back();
    todo.pop_back();
    if (i < 0 || !seen.insert(i).second) continue;
    const Incarnation& h = history[static_cast<std::size_t>(i)];
    if (h.kind == ChildKind::Initial || h.birth_generation < 0) continue;
    todo.push_back(incarnation_at(history, h.parent1, h.birth_generation));
    if (h.kind == ChildKind::Mix) todo.push_back(incarnation_at(history, h.parent2, h.birth_generation));
  }
  return {seen.begin(), seen.end()};
}

std::vector<std::int64_t> base_line(const std::vector<Incarnation>& history, std::int64_t inc) {
  std::vector<std::int64_t> line;
  while (inc >= 0 && inc < static_cast<std::int64_t>(history.size())) {
    line.push_back(inc);
    const Incarnation& h = history[static_cast<std::size_t>(inc)];
    if (h.kind == ChildKind::Initial || h.birth_generation < 0) break;
    inc = incarnation_at(history, h.parent1, h.birth_generation);
  }
  return line;
}

const char* to_string(HopKind kind) {
  switch (kind) {
    case HopKind::Initial: return "initial model";
    case HopKind::Fresh: return "new weights (architecture mutation)";
    case HopKind::Inherited: return "inherited from parent1";
    case HopKind::Donated: return "taken from the donor";
    case HopKind::Mutated: return "weight mutation";
  }
  return "?";
}

std::vector<GeneHop> gene_path(const std::vector<Incarnation>& history, std::int64_t inc, int gene) {
  std::vector<GeneHop> path;
  while (inc >= 0 && inc < static_cast<std::int64_t>(history.size())) {
    const Incarnation& h = history[static_cast<std::size_t>(inc)];
    GeneHop hop{inc, h.slot, h.birth_generation, HopKind::Initial};
    if (h.kind == ChildKind::Initial || h.birth_generation < 0) {
      path.push_back(hop);
      break;
    }
    const bool changed = has_gene(h, gene);
    if (changed && h.kind == ChildKind::ArchMutation) {
      hop.how = HopKind::Fresh;
      path.push_back(hop);
      break;
    }
    if (h.kind == ChildKind::WeightMutation) hop.how = HopKind::Mutated;  // it perturbs every layer
    else hop.how = !changed ? HopKind::Inherited : h.kind == ChildKind::Mix ? HopKind::Donated : HopKind::Mutated;
    path.push_back(hop);
    // Parents were born strictly earlier, so the walk ends.
    inc = incarnation_at(history, changed && h.kind == ChildKind::Mix ? h.parent2 : h.parent1, h.birth_generation);
  }
  std::reverse(path.begin(), path.end());
  return path;
}

std::string lineage_dot(const std::vector<Incarnation>& history, const std::vector<double>& fitness,
                        const std::vector<std::string>& gene_names, std::int64_t highlight,
                        std::int64_t last_generation) {
  const std::vector<std::int64_t> anc = ancestry(history, highlight);
  const std::set<std::int64_t> hl(anc.begin(), anc.end());
  std::ostringstream d;
  d << "digraph lineage {\n"
       "  rankdir=LR; ranksep=0.45; nodesep=0.12; bgcolor=\"transparent\";\n"
       "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", color=\"#555555\", "
       "fontname=\"Helvetica\", fontsize=9, margin=\"0.06,0.03\"];\n"
       "  edge [color=\"#333333\", arrowsize=0.6, fontname=\"Helvetica\", fontsize=8];\n";
  // One column per birth generation, headed by a label, in order.
  std::map<std::int64_t, std::vector<std::int64_t>> columns;
  for (std::size_t i = 0; i < history.size(); ++i)
    columns[std::max<std::int64_t>(-1, history[i].birth_generation)].push_back(static_cast<std::int64_t>(i));
  std::string prev;
  for (auto& [birth, ids] : columns) {
    const std::string head = "col" + std::to_string(birth + 1);
    d << "  " << head << " [shape=plaintext, style=\"\", fontsize=10, label="
      << dot_quote(birth < 0 ? "initial (gen 0)" : "from gen " + std::to_string(birth + 1)) << "];\n";
    if (!prev.empty()) d << "  " << prev << " -> " << head << " [style=invis];\n";
    prev = head;
    std::sort(ids.begin(), ids.end(), [&](std::int64_t a, std::int64_t b) {
      return history[static_cast<std::size_t>(a)].slot < history[static_cast<std::size_t>(b)].slot;
    });
    d << "  { rank=same; " << head << ";";
    for (std::int64_t i : ids) d << ' ' << node_id(i) << ';';
    d << " }\n";
  }
  for (std::size_t i = 0; i < history.size(); ++i) {
    const Incarnation& h = history[i];
    const auto id = static_cast<std::int64_t>(i);
    const std::int64_t first = h.birth_generation + 1;
    const std::int64_t last = h.final_generation >= 0 ? h.final_generation : last_generation;
    std::string label = "slot " + std::to_string(h.slot) + "\ngen " + std::to_string(first) +
                        (last > first ? "-" + std::to_string(last) : "");
    const double f = i < fitness.size() ? fitness[i] : NAN;
    if (std::isfinite(f)) label += "\n" + fmt("%.4g", f);
    else if (std::isinf(f)) label += "\ndiverged";
    std::string tip = "incarnation " + std::to_string(i) + ": slot " + std::to_string(h.slot) + ", " +
                      to_string(h.kind) + (h.final_generation >= 0 ? ", replaced after gen " + std::to_string(h.final_generation) : ", alive");
    d << "  " << node_id(id) << " [label=" << dot_quote(label) << ", tooltip=" << dot_quote(tip);
    if (id == highlight) d << ", fillcolor=\"#ffb300\", penwidth=2";
    else if (hl.count(id)) d << ", fillcolor=\"#ffe082\"";
    else if (h.final_generation < 0) d << ", fillcolor=\"#e3f2fd\"";
    d << "];\n";
  }
  for (const LineageEdge& e : lineage_edges(history)) {
    d << "  " << node_id(e.parent) << " -> " << node_id(e.child) << " [";
    std::string label, tip, colour = "#333333", style;
    for (int g : e.genes)
      tip += (tip.empty() ? "" : " ") + (g >= 0 && g < static_cast<int>(gene_names.size()) ? gene_names[g] : std::to_string(g));
    if (e.donor) {
      label = std::to_string(e.genes.size()) + (e.genes.size() == 1 ? " gene" : " genes");
      colour = "#1f77b4";
      style = "style=dashed, ";
    } else if (e.kind != ChildKind::Mix) {
      label = to_string(e.kind);
      if (!e.genes.empty()) label += " (" + std::to_string(e.genes.size()) + ")";
      colour = "#2e7d32";
    }
    const bool on_best = hl.count(e.parent) && hl.count(e.child);
    d << style << "color=\"" << (on_best ? "#d62728" : colour) << "\", fontcolor=\"" << colour << "\", "
      << (on_best ? "penwidth=2.2, " : "") << "label=" << dot_quote(label)
      << ", tooltip=" << dot_quote(tip.empty() ? "parent1" : tip) << "];\n";
  }
  d << "}\n";
  return d.str();
}

}  // namespace pbtnas::report
