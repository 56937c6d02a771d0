// report.html sections about the run as a whole: overview, fitness, lineage, timings, config.
#include "html_sections.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pbtnas/report/html_report.hpp"
#include "pbtnas/report/lineage.hpp"

namespace pbtnas::report {
namespace {

std::string row(const std::string& key, const std::string& value_html) {
  return "<tr><th>" + html_escape(key) + "</th><td>" + value_html + "</td></tr>\n";
}

nlohmann::json or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

// "3 ← 0 + 1 (mix, 5 genes)" for the incarnation born in slot `h.slot`.
std::string exploit_text(const RunData& run, const Incarnation& h) {
  std::string s = "slot " + std::to_string(h.slot) + " \u2190 " + std::to_string(h.parent1);
  if (h.kind == ChildKind::Mix && h.parent2 != h.parent1) s += " + " + std::to_string(h.parent2);
  s += std::string(" (") + to_string(h.kind);
  if (!h.changed_genes.empty()) {
    s += ", " + std::to_string(h.changed_genes.size()) + (h.changed_genes.size() == 1 ? " gene:" : " genes:");
    for (std::size_t i = 0; i < h.changed_genes.size() && i < 6; ++i) s += " " + gene_name(run, h.changed_genes[i]);
    if (h.changed_genes.size() > 6) s += " ...";
  }
  return s + ")";
}

}  // namespace

std::string num(double v, int digits) {
  if (std::isnan(v)) return "\u2013";
  if (std::isinf(v)) return v < 0 ? "-inf (diverged)" : "inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string gene_name(const RunData& run, int gene) {
  return gene >= 0 && gene < static_cast<int>(run.index.gene_names.size()) ? run.index.gene_names[gene] : "gene " + std::to_string(gene);
}

ReportContext make_context(const RunData& run) {
  ReportContext c(run);
  c.series = fitness_series(run);
  const io::GenerationIndex& idx = run.index;
  c.best_slot = idx.best_ever_member;
  c.best_generation = idx.best_ever_generation;
  c.best_fitness = idx.best_ever_fitness;
  if (c.best_slot < 0 && c.series.generations > 0) {  // no best-ever recorded: the last generation's best
    c.best_generation = c.series.generations - 1;
    for (std::size_t m = 0; m < c.series.members.size(); ++m) {
      const double v = c.series.members[m].back();
      if (std::isfinite(v) && (c.best_slot < 0 || v > c.best_fitness)) c.best_slot = static_cast<int>(m), c.best_fitness = v;
    }
  }
  if (c.best_slot >= 0) c.best_inc = incarnation_at(idx.history, c.best_slot, c.best_generation);
  c.best_options.assign(idx.gene_names.size(), "");
  for (const auto& r : run.rows)
    if (r.generation == c.best_generation && r.member == c.best_slot && r.architecture.size() == c.best_options.size())
      c.best_options = r.architecture;
  const bool known = std::any_of(c.best_options.begin(), c.best_options.end(), [](const std::string& o) { return !o.empty(); });
  for (const auto& m : idx.members)  // no metrics row: the index's record, while the member is alive
    if (!known && m.id == c.best_slot && m.incarnation == c.best_inc)
      for (std::size_t g = 0; g < m.genome.size() && g < idx.gene_options.size() && g < c.best_options.size(); ++g)
        if (m.genome[g] >= 0 && static_cast<std::size_t>(m.genome[g]) < idx.gene_options[g].size())
          c.best_options[g] = idx.gene_options[g][static_cast<std::size_t>(m.genome[g])];
  for (const auto& h : idx.history) {
    double f = NAN;
    if (h.final_generation >= 0) {
      f = h.final_fitness;
    } else if (h.slot >= 0 && static_cast<std::size_t>(h.slot) < c.series.members.size() && c.series.generations > 0) {
      f = c.series.members[static_cast<std::size_t>(h.slot)].back();
      for (const auto& m : idx.members)
        if (m.id == h.slot && std::isnan(f)) f = m.last_fitness();
    }
    c.inc_fitness.push_back(f);
  }
  return c;
}

std::string section_overview(const ReportContext& c) {
  const RunData& run = c.run;
  const io::GenerationIndex& idx = run.index;
  std::ostringstream s;
  s << "<section id=\"overview\"><h2>Run</h2><table class=\"kv\">\n";
  s << row("run folder", "<code>" + html_escape(run.out) + "</code>");
  s << row("task", html_escape(run.task) + " &nbsp;(" + html_escape(c.series.y_label) + ")");
  s << row("algorithm", html_escape(idx.algorithm));
  s << row("search space", html_escape(idx.space_name) + ", " + std::to_string(idx.gene_names.size()) + " genes");
  s << row("population", std::to_string(idx.members.size()) + " members, " + std::to_string(idx.history.size()) +
                             " models over the run (incarnations)");
  s << row("seed", std::to_string(idx.seed));
  std::string progress = "generation " + std::to_string(idx.generation) + " is the newest committed one (step " +
                         std::to_string(idx.generation + 1) + (run.steps > 0 ? " of " + std::to_string(run.steps) : "") + ")";
  if (!run.summary.present) progress += "; the search has not finished (no summary.json)";
  s << row("progress", html_escape(progress));
  if (c.best_slot >= 0)
    s << row("best ever", "fitness <b>" + num(c.best_fitness, 6) + "</b>: member " + std::to_string(c.best_slot) +
                              " in generation " + std::to_string(c.best_generation) + " (step " +
                              std::to_string(c.best_generation + 1) + ")");
  const Summary& sm = run.summary;
  if (sm.present) {
    std::string ev;
    for (const auto& [k, v] : sm.evaluation) ev += "<span class=\"metric\">" + html_escape(k) + " <b>" + num(v, 6) + "</b></span> ";
    if (!sm.evaluation_error.empty()) ev += "<span class=\"warn\">failed: " + html_escape(sm.evaluation_error) + "</span>";
    s << row("final evaluation", ev.empty() ? "not recorded" : ev);
    if (sm.parameters >= 0) s << row("parameters", std::to_string(sm.parameters));
    std::string scores;
    for (const auto& [k, v] : sm.scores) scores += ", " + html_escape(k) + " " + num(v, 6);
    if (sm.scores.empty()) scores = ": fitness " + num(sm.fitness, 6) + ", test score " + num(sm.test_score, 6);
    else scores = ":" + scores.substr(1);
    s << row("final population's best", "member " + std::to_string(sm.best_member) + scores);
    if (sm.has_soup) {
      std::string soup;
      if (!sm.soup_error.empty()) {
        soup = "<span class=\"warn\">failed: " + html_escape(sm.soup_error) + "</span>";
      } else {
        soup = std::to_string(sm.soup_members) + " of " + std::to_string(sm.soup_candidates) +
               " member(s) sharing member " + std::to_string(sm.soup_best_member) + "'s architecture: " +
               html_escape(sm.soup_fitness_name) + " <b>" + num(sm.soup_fitness, 6) + "</b> (member alone " +
               num(sm.soup_best_fitness, 6) + ")";
        if (!sm.soup_evaluation.empty()) {
          soup += "<br>final evaluation, soup: ";
          for (const auto& [k, v] : sm.soup_evaluation) soup += "<span class=\"metric\">" + html_escape(k) + " <b>" + num(v, 6) + "</b></span> ";
          soup += "<br>the member alone: ";
          for (const auto& [k, v] : sm.soup_best_evaluation) soup += "<span class=\"metric\">" + html_escape(k) + " " + num(v, 6) + "</span> ";
        }
      }
      s << row("greedy soup", soup);
    }
  }
  s << "</table>\n";
  if (!run.notes.empty()) {
    s << "<ul class=\"notes\">";
    for (const auto& n : run.notes) s << "<li>" << html_escape(n) << "</li>";
    s << "</ul>\n";
  }
  return s.str() + "</section>\n";
}

std::string section_fitness(const ReportContext& c) {
  const RunData& run = c.run;
  std::ostringstream s;
  s << "<section id=\"fitness\"><h2>Fitness per generation</h2>\n<p>One line per member slot (" << html_escape(c.series.y_label)
    << ", measured after each generation's training), the best (black) and the median (dashed). A red cross marks a model that the "
       "exploit replaced after that generation, a green triangle its child's first generation (hover for the parents). "
       "Generations are numbered from 0.</p>\n"
       "<div class=\"chart\" style=\"height:440px\"><canvas id=\"fitness-chart\"></canvas></div>\n"
       "<p class=\"small\">Also as <code>report/fitness.png</code>.</p>\n";
  s << "<table class=\"grid\"><tr><th>generation</th><th>best</th><th>median</th><th>exploit after it</th></tr>\n";
  for (std::int64_t g = 0; g < c.series.generations; ++g) {
    const auto gi = static_cast<std::size_t>(g);
    std::string best_m;
    for (std::size_t m = 0; m < c.series.members.size(); ++m)
      if (c.series.members[m][gi] == c.series.best[gi]) best_m = " (member " + std::to_string(m) + ")";
    std::string ex;
    for (const auto& h : run.index.history)
      if (h.birth_generation == g) ex += (ex.empty() ? "" : "<br>") + html_escape(exploit_text(run, h));
    s << "<tr><td>" << g << "</td><td>" << num(c.series.best[gi], 6) << best_m << "</td><td>" << num(c.series.median[gi], 6)
      << "</td><td class=\"left\">" << ex << "</td></tr>\n";
  }
  return s.str() + "</table></section>\n";
}

std::string section_lineage(const ReportContext& c) {
  const auto& h = c.run.index.history;
  std::ostringstream s;
  s << "<section id=\"lineage\"><h2>Lineage</h2>\n<p>Every model of the run, in columns by the generation it started "
       "training in: slot, the generations it trained, its last fitness. Solid arrows come from parent1 (the base whose "
       "whole state the child continues), dashed blue arrows from a mix's donor (parent2, labelled with the number of "
       "layers taken; hover for the genes), green arrows are clones and mutations. The best-ever member is orange, its "
       "ancestors gold with red arrows; models alive at the end are light blue.</p>\n"
       "<div class=\"lineage\">" << c.lineage_svg << "</div>\n";
  if (c.best_inc >= 0) {
    s << "<p>Base line of the best-ever member (newest first): ";
    bool first = true;
    for (std::int64_t i : base_line(h, c.best_inc)) {
      const Incarnation& x = h[static_cast<std::size_t>(i)];
      s << (first ? "" : " \u2190 ") << "slot " << x.slot << " (from gen " << x.birth_generation + 1 << ")";
      first = false;
    }
    s << ". Ancestors through parents and donors: " << ancestry(h, c.best_inc).size() - 1 << ".</p>\n";
  }
  return s.str() + "<p class=\"small\">Also as <code>report/lineage.png</code> and <code>report/lineage.svg</code>.</p></section>\n";
}

std::string section_timings(const ReportContext& c) {
  const auto& t = c.run.timings;
  bool exploit = false, bytes = false;
  for (const auto& x : t) exploit |= std::isfinite(x.exploit_seconds), bytes |= std::isfinite(x.bytes_sent);
  std::ostringstream s;
  s << "<section id=\"timings\"><h2>Time and traffic per generation</h2>\n";
  if (t.empty()) return s.str() + "<p>No timings recorded (no workers.jsonl).</p></section>\n";
  s << "<p>Training-phase time per worker: busy training its members, and waiting for the slowest worker.";
  if (!exploit) s << " This run's files record no exploit or checkpoint times and no bytes exchanged (its log shows them).";
  s << "</p>\n<div class=\"chart\" style=\"height:320px\"><canvas id=\"timing-chart\"></canvas></div>\n";
  if (bytes) s << "<div class=\"chart\" style=\"height:240px\"><canvas id=\"bytes-chart\"></canvas></div>\n";
  s << "<table class=\"grid\"><tr><th>generation</th><th>train phase s</th><th>exploit s</th><th>checkpoint s</th>"
       "<th>MiB sent</th><th>workers busy</th></tr>\n";
  for (const auto& x : t) {
    double busy = 0, total = 0;
    for (std::size_t w = 0; w < x.busy_seconds.size(); ++w)
      if (std::isfinite(x.busy_seconds[w]) && std::isfinite(x.wait_seconds[w])) busy += x.busy_seconds[w], total += x.busy_seconds[w] + x.wait_seconds[w];
    s << "<tr><td>" << x.generation << "</td><td>" << num(x.train_phase_seconds(), 4) << "</td><td>" << num(x.exploit_seconds, 3)
      << "</td><td>" << num(x.checkpoint_seconds, 3) << "</td><td>" << num(x.bytes_sent / 1048576.0, 4) << "</td><td>"
      << (total > 0 ? num(100.0 * busy / total, 3) + " %" : "\u2013") << "</td></tr>\n";
  }
  return s.str() + "</table></section>\n";
}

std::string section_config(const ReportContext& c) {
  return "<section id=\"config\"><h2>Config</h2>\n<p>As read by the run (stored in its index.h5).</p>\n<pre class=\"config\">" +
         html_escape(c.run.index.config_yaml) + "</pre></section>\n";
}

std::string chart_data_json(const ReportContext& c) {
  using nlohmann::json;
  const RunData& run = c.run;
  json d;
  d["yLabel"] = c.series.y_label;
  d["generations"] = c.series.generations;
  json members = json::array();
  for (const auto& m : c.series.members) {
    json v = json::array();
    for (double x : m) v.push_back(or_null(x));
    members.push_back(v);
  }
  d["members"] = members;
  json best = json::array(), median = json::array();
  for (std::size_t g = 0; g < c.series.best.size(); ++g) best.push_back(or_null(c.series.best[g])), median.push_back(or_null(c.series.median[g]));
  d["best"] = best;
  d["median"] = median;
  json replaced = json::array(), children = json::array();
  auto value = [&](std::int64_t g, int slot) {
    return slot >= 0 && static_cast<std::size_t>(slot) < c.series.members.size() && g >= 0 && g < c.series.generations
               ? c.series.members[static_cast<std::size_t>(slot)][static_cast<std::size_t>(g)] : NAN;
  };
  for (const auto& h : run.index.history) {
    if (h.final_generation >= 0 && std::isfinite(value(h.final_generation, h.slot)))
      replaced.push_back({{"x", h.final_generation}, {"y", value(h.final_generation, h.slot)},
                          {"text", "slot " + std::to_string(h.slot) + " replaced after generation " + std::to_string(h.final_generation)}});
    if (h.birth_generation >= 0 && std::isfinite(value(h.birth_generation + 1, h.slot)))
      children.push_back({{"x", h.birth_generation + 1}, {"y", value(h.birth_generation + 1, h.slot)}, {"text", exploit_text(run, h)}});
  }
  d["replaced"] = replaced;
  d["children"] = children;
  json labels = json::array(), series = json::array(), bytes = json::array();
  std::size_t workers = 0;
  bool any_bytes = false;
  for (const auto& t : run.timings) {
    labels.push_back(t.generation);
    workers = std::max(workers, t.busy_seconds.size());
    bytes.push_back(or_null(t.bytes_sent / 1048576.0));
    any_bytes |= std::isfinite(t.bytes_sent);
  }
  for (std::size_t w = 0; w < workers; ++w)
    for (int part = 0; part < 2; ++part) {
      json v = json::array();
      for (const auto& t : run.timings) {
        const auto& src = part == 0 ? t.busy_seconds : t.wait_seconds;
        v.push_back(w < src.size() ? or_null(src[w]) : json(nullptr));
      }
      series.push_back({{"label", "worker " + std::to_string(w + 1) + (part == 0 ? " busy" : " waiting")},
                        {"stack", "w" + std::to_string(w + 1)}, {"data", v}, {"worker", w}, {"wait", part == 1}});
    }
  for (const char* key : {"exploit", "checkpoint"}) {
    json v = json::array();
    bool any = false;
    for (const auto& t : run.timings) {
      const double x = key[0] == 'e' ? t.exploit_seconds : t.checkpoint_seconds;
      any |= std::isfinite(x);
      v.push_back(or_null(x));
    }
    if (any) series.push_back({{"label", key}, {"stack", key}, {"data", v}, {"worker", -1}, {"wait", false}});
  }
  d["timing"] = {{"labels", labels}, {"series", series}};
  d["bytes"] = any_bytes ? json{{"labels", labels}, {"data", bytes}} : json(nullptr);
  return d.dump();
}

}  // namespace pbtnas::report
