// report.html: the page around the sections, its style and script, and the figures it comes with.
#include "pbtnas/report/html_report.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "html_sections.hpp"
#include "pbtnas/report/lineage.hpp"
#include "pbtnas/util/files.hpp"

#ifndef PBTNAS_CHART_JS
#define PBTNAS_CHART_JS "/usr/share/javascript/chart.js/chart.min.js"
#endif

namespace fs = std::filesystem;

namespace pbtnas::report {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  const std::string tmp = temporary_name(path);  // util/files.hpp: one temporary name for every atomic write
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + tmp + "; check that its folder exists and is writable");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw std::runtime_error("cannot write " + path + (fs::is_directory(path, ec) ? " (it is a folder; pass a file path)" : "") +
                             "; check that it is a writable file path");
  }
}

const char* kStyle = R"CSS(
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#fff;padding:14px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#cfd8dc}
nav{padding:6px 28px;background:#eceff1;font-size:14px}nav a{margin-right:14px;color:#1565c0;text-decoration:none}
main{padding:0 28px 40px}section{background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:8px 18px 14px;margin:16px 0}
h2{font-size:19px;margin:8px 0}h3{font-size:16px}p{line-height:1.45}.small{font-size:12px;color:#666}
table{border-collapse:collapse;font-size:13px}table.kv th{text-align:left;padding:3px 14px 3px 0;vertical-align:top;color:#555}
table.grid th,table.grid td{border:1px solid #ddd;padding:2px 6px;text-align:center}table.grid td.left{text-align:left}
table.freq td{min-width:18px}table.freq tr.first td{border-top:2px solid #999}
.chart{position:relative;width:100%}.lineage{overflow:auto;max-height:900px;border:1px solid #eee}
.scroll{overflow:auto;max-height:640px}.notes{color:#8d6e63;font-size:13px}.warn{color:#c62828}
.metric{display:inline-block;margin-right:14px}pre.config{background:#f5f5f5;padding:10px;overflow:auto;font-size:12px}
.arch{display:flex;flex-wrap:wrap;gap:10px}.cell{border:1px solid #90a4ae;border-radius:6px;padding:4px 6px;background:#f7fbfc;min-width:120px}
.cell-title{font-weight:600;font-size:13px;border-bottom:1px solid #cfd8dc;margin-bottom:3px}
.gene{display:flex;justify-content:space-between;gap:6px;font-size:12px;margin:2px 0}.gname{color:#607d8b}
.op,.chip{padding:0 5px;border-radius:3px;font-family:ui-monospace,monospace;font-size:12px}.chip{background:#f0f0f0}
.grids{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0;text-align:center;font-size:12px}
figure img{width:160px;image-rendering:pixelated;border:1px solid #ccc}figure.final img{width:220px;border:2px solid #ff8f00}
#js-errors{color:#c62828;font-weight:600}
)CSS";

// Records script errors for the page itself (a red line) and for tests (data-js-errors).
const char* kErrorHook = R"JS(
window.reportErrors = [];
window.addEventListener('error', function (e) {
  window.reportErrors.push(String(e.message || e));
  document.documentElement.setAttribute('data-js-errors', window.reportErrors.join(' | '));
  var el = document.getElementById('js-errors');
  if (el) el.textContent = 'Script error: ' + window.reportErrors.join(' | ');
});
)JS";

// Draws the charts from #report-data; sets data-report-ready to the number of charts drawn.
const char* kScript = R"JS(
(function () {
  var D = JSON.parse(document.getElementById('report-data').textContent);
  var palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  var charts = [];
  function points(v) { return v.map(function (y, g) { return { x: g, y: y }; }); }
  function fmt(y) { return y === null || y === undefined ? '-' : Number(y).toPrecision(5); }
  var ds = D.members.map(function (v, i) {
    return { type: 'line', label: 'member ' + i, data: points(v), borderColor: palette[i % 8] + '99',
             backgroundColor: palette[i % 8], borderWidth: 1.5, pointRadius: 2 };
  });
  ds.push({ type: 'line', label: 'best', data: points(D.best), borderColor: '#000', backgroundColor: '#000', borderWidth: 3, pointRadius: 3 });
  ds.push({ type: 'line', label: 'median', data: points(D.median), borderColor: '#777', backgroundColor: '#777',
            borderDash: [6, 4], borderWidth: 2, pointRadius: 0 });
  ds.push({ type: 'scatter', label: 'replaced', data: D.replaced, pointStyle: 'crossRot', pointRadius: 8,
            borderColor: '#d62728', backgroundColor: '#d62728', borderWidth: 2 });
  ds.push({ type: 'scatter', label: 'child', data: D.children, pointStyle: 'triangle', pointRadius: 7,
            borderColor: '#2e7d32', backgroundColor: '#2e7d32' });
  charts.push(new Chart(document.getElementById('fitness-chart'), {
    type: 'line', data: { datasets: ds },
    options: { scales: { x: { type: 'linear', min: 0, max: Math.max(1, D.generations - 1), ticks: { stepSize: 1 },
                              title: { display: true, text: 'generation (0-based)' } },
                         y: { title: { display: true, text: D.yLabel } } },
               plugins: { tooltip: { callbacks: { label: function (c) {
                 return (c.raw && c.raw.text ? c.raw.text : c.dataset.label) + ': ' + fmt(c.parsed.y); } } } } }
  }));
  var tc = document.getElementById('timing-chart');
  if (tc) {
    var tds = D.timing.series.map(function (s) {
      var col = s.worker >= 0 ? palette[s.worker % 8] : (s.label === 'exploit' ? '#616161' : '#bdbdbd');
      return { label: s.label, data: s.data, stack: s.stack, backgroundColor: s.wait ? col + '55' : col };
    });
    charts.push(new Chart(tc, { type: 'bar', data: { labels: D.timing.labels, datasets: tds },
      options: { scales: { x: { stacked: true, title: { display: true, text: 'generation (0-based)' } },
                           y: { stacked: true, title: { display: true, text: 'seconds' } } } } }));
  }
  var bc = document.getElementById('bytes-chart');
  if (bc && D.bytes) {
    charts.push(new Chart(bc, { type: 'bar', data: { labels: D.bytes.labels,
      datasets: [{ label: 'MiB sent in the exploit', data: D.bytes.data, backgroundColor: '#5c6bc0' }] },
      options: { scales: { x: { title: { display: true, text: 'generation (0-based)' } }, y: { title: { display: true, text: 'MiB' } } } } }));
  }
  var drawn = charts.filter(function (c) { return c.canvas && c.canvas.width > 0 && c.canvas.height > 0; }).length;
  document.documentElement.setAttribute('data-report-ready', String(drawn));
})();
)JS";

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64_encode(const std::string& bytes) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t v = 0;
    for (std::size_t j = 0; j < 3; ++j) v = (v << 8) | (j < n ? static_cast<unsigned char>(bytes[i + j]) : 0u);
    for (std::size_t j = 0; j < 4; ++j) out += j <= n ? k[(v >> (18 - 6 * j)) & 63] : '=';
  }
  return out;
}

std::string script_safe(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<') {
      std::string next = text.substr(i + 1, 7);
      for (auto& ch : next) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (next == "/script" || next.compare(0, 3, "!--") == 0) {
        out += "\\u003c";
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::string default_chart_js() {
  const char* env = std::getenv("PBTNAS_CHART_JS");
  return env && *env ? env : PBTNAS_CHART_JS;
}

ReportFiles write_run_report(const std::string& out, const ReportOptions& options) {
  RunData run = read_run(out);
  if (options.task_words) {
    try {
      const TaskWords words = options.task_words(run.task);
      run.task = words.name;
      run.fitness_label = words.fitness_label;
    } catch (const std::exception& e) {
      run.notes.push_back(std::string("the run's task is not known here: ") + e.what());
    }
  }
  const std::string chart_path = options.chart_js.empty() ? default_chart_js() : options.chart_js;
  if (!fs::is_regular_file(chart_path))
    throw std::runtime_error("Chart.js is not installed (" + chart_path + " is missing); the report inlines it to draw "
                             "its charts: apt-get install libjs-chart.js (or set PBTNAS_CHART_JS to a chart.min.js file)");
  if (find_program("dot").empty())
    throw std::runtime_error("Graphviz is not installed (no `dot` on PATH); the report lays out the lineage with it: "
                             "apt-get install graphviz");
  ReportFiles files;
  files.html = options.html_path.empty() ? (fs::path(out) / "report.html").string() : options.html_path;
  files.notes = run.notes;
  const fs::path dir = fs::path(out) / "report";
  if (fs::is_directory(files.html))
    throw std::runtime_error("--html " + files.html + " is a folder; pass the path of the HTML file to write");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir))
    throw std::runtime_error("cannot make the folder " + dir.string() + " for the report's figures" +
                             (ec ? " (" + ec.message() + ")" : std::string()) +
                             "; move away whatever file has that name, or check that the run folder is writable");
  if (fs::path(files.html).has_parent_path()) {
    const fs::path parent = fs::path(files.html).parent_path();
    fs::create_directories(parent, ec);
    if (!fs::is_directory(parent))
      throw std::runtime_error("cannot make the folder " + parent.string() + " for --html " + files.html +
                               (ec ? " (" + ec.message() + ")" : std::string()));
  }

  ReportContext ctx = make_context(run);
  write_png((dir / "fitness.png").string(), plot_fitness(ctx.series));
  files.figures.push_back((dir / "fitness.png").string());
  const std::string dot_file = (dir / "lineage.dot").string();
  write_file(dot_file, lineage_dot(run.index.history, ctx.inc_fitness, run.index.gene_names, ctx.best_inc, run.last_generation()));
  run_dot(dot_file, "svg", (dir / "lineage.svg").string());
  run_dot(dot_file, "png", (dir / "lineage.png").string());
  files.figures.push_back((dir / "lineage.png").string());
  const std::string svg = read_file((dir / "lineage.svg").string());
  const auto start = svg.find("<svg");
  ctx.lineage_svg = start == std::string::npos ? std::string() : svg.substr(start);

  const std::string title = "pbtnas run report: " + fs::path(out).lexically_normal().filename().string();
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" << html_escape(title)
    << "</title>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<style>" << kStyle
    << "</style>\n<script>" << kErrorHook << "</script>\n<script>/* Chart.js, inlined from " << html_escape(fs::path(chart_path).filename().string())
    << " */\n" << script_safe(read_file(chart_path)) << "\n</script>\n</head>\n<body>\n<header><h1>" << html_escape(title)
    << "</h1><p>" << html_escape(run.task + " \u00b7 " + run.index.algorithm + " \u00b7 generation " +
                                 std::to_string(run.last_generation()) + " committed")
    << "</p></header>\n<nav><a href=\"#overview\">run</a><a href=\"#fitness\">fitness</a><a href=\"#lineage\">lineage</a>"
       "<a href=\"#architecture\">architecture</a><a href=\"#options\">options</a>"
    << (run.has_samples() ? "<a href=\"#samples\">samples</a>" : "")
    << "<a href=\"#timings\">timings</a><a href=\"#config\">config</a></nav>\n<main>\n<p id=\"js-errors\"></p>\n"
    << section_overview(ctx) << section_fitness(ctx) << section_front(ctx) << section_lineage(ctx) << section_architecture(ctx)
    << section_samples(ctx) << section_options(ctx) << section_hyperparameters(ctx) << section_timings(ctx) << section_config(ctx)
    << "</main>\n<script type=\"application/json\" id=\"report-data\">" << script_safe(chart_data_json(ctx))
    << "</script>\n<script>" << kScript << "</script>\n</body></html>\n";
  write_file(files.html, h.str());
  return files;
}

}  // namespace pbtnas::report
