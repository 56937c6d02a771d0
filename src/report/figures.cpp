// Per-generation series, fitness.png (encoded by util/png.hpp) and the Graphviz subprocess.
#include "pbtnas/report/figures.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "pbtnas/util/png.hpp"

extern char** environ;

namespace pbtnas::report {
namespace {

void put(RgbImage& img, int x, int y, const std::uint8_t c[3]) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  std::memcpy(&img.pixels[(static_cast<std::size_t>(y) * img.width + x) * 3], c, 3);
}

void dot(RgbImage& img, int x, int y, int r, const std::uint8_t c[3]) {
  for (int dy = -r; dy <= r; ++dy)
    for (int dx = -r; dx <= r; ++dx) put(img, x + dx, y + dy, c);
}

// A line of thickness 2 * r + 1 (r = 0: one pixel); every `dash`-th pixel run is skipped when dash > 0.
void line(RgbImage& img, int x0, int y0, int x1, int y1, const std::uint8_t c[3], int r = 0, int dash = 0) {
  const int n = std::max(std::abs(x1 - x0), std::abs(y1 - y0));
  for (int i = 0; i <= n; ++i) {
    if (dash > 0 && (i / dash) % 2 == 1) continue;
    const double t = n ? static_cast<double>(i) / n : 0.0;
    dot(img, static_cast<int>(std::lround(x0 + t * (x1 - x0))), static_cast<int>(std::lround(y0 + t * (y1 - y0))), r, c);
  }
}

std::string format(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

FitnessSeries fitness_series(const RunData& run) {
  FitnessSeries s;
  s.y_label = run.fitness_label.empty() ? "fitness" : "fitness: " + run.fitness_label;
  s.generations = run.last_generation() + 1;
  const auto G = static_cast<std::size_t>(std::max<std::int64_t>(0, s.generations));
  int slots = static_cast<int>(run.index.members.size());
  for (const auto& r : run.rows) slots = std::max(slots, r.member + 1);
  s.members.assign(static_cast<std::size_t>(slots), std::vector<double>(G, NAN));
  for (const auto& r : run.rows)
    if (r.generation >= 0 && static_cast<std::size_t>(r.generation) < G && !r.diverged)
      s.members[static_cast<std::size_t>(r.member)][static_cast<std::size_t>(r.generation)] = r.fitness;
  for (std::size_t g = 0; g < G; ++g) {
    std::vector<double> v;
    for (const auto& m : s.members)
      if (std::isfinite(m[g])) v.push_back(m[g]);
    std::sort(v.begin(), v.end());
    s.best.push_back(v.empty() ? NAN : v.back());
    s.median.push_back(v.empty() ? NAN : v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]));
  }
  for (const auto& h : run.index.history) {
    if (h.final_generation >= 0) s.replaced.emplace_back(h.final_generation, h.slot);
    if (h.birth_generation >= 0 && h.birth_generation + 1 < s.generations) s.children.emplace_back(h.birth_generation + 1, h.slot);
  }
  return s;
}

RgbImage plot_fitness(const FitnessSeries& s) {
  const int W = 1200, H = 640, scale = 2;
  RgbImage img(W, H);
  const std::uint8_t black[3] = {0, 0, 0}, grey[3] = {225, 225, 225}, dark[3] = {90, 90, 90};
  const std::uint8_t red[3] = {214, 39, 40}, green[3] = {46, 125, 50}, median_c[3] = {120, 120, 120};
  const int px0 = 110, px1 = W - 260, py0 = 60, py1 = H - 80;
  const std::string title = "fitness per generation";
  draw_text(img, (W - text_width(title, scale)) / 2, 18, title, black, scale);
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& m : s.members)
    for (double v : m)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) {
    draw_text(img, (W - text_width("no fitness recorded yet", scale)) / 2, H / 2, "no fitness recorded yet", dark, scale);
    return img;
  }
  const double pad = hi > lo ? 0.05 * (hi - lo) : 0.5 * std::max(1e-3, std::abs(lo));
  lo -= pad;
  hi += pad;
  int ydec = 0, xdec = 0;
  const std::vector<double> yt = nice_ticks(lo, hi, 6, &ydec);
  const double ylo = std::min(lo, yt.front()), yhi = std::max(hi, yt.back());
  const double xlo = 0.0, xhi = std::max<double>(1.0, static_cast<double>(s.generations - 1));
  auto X = [&](double g) { return px0 + static_cast<int>(std::lround((g - xlo) / (xhi - xlo) * (px1 - px0))); };
  auto Y = [&](double v) { return py1 - static_cast<int>(std::lround((v - ylo) / (yhi - ylo) * (py1 - py0))); };
  for (double t : yt) {
    const int y = Y(t);
    if (y < py0 || y > py1) continue;
    line(img, px0, y, px1, y, grey);
    const std::string l = format(t, ydec);
    draw_text(img, px0 - 10 - text_width(l, scale), y - 7, l, black, scale);
  }
  for (double t : nice_ticks(xlo, xhi, 10, &xdec)) {
    if (t < xlo - 1e-9 || t > xhi + 1e-9 || std::abs(t - std::round(t)) > 1e-9) continue;
    line(img, X(t), py0, X(t), py1, grey);
    const std::string l = format(t, 0);
    draw_text(img, X(t) - text_width(l, scale) / 2, py1 + 12, l, black, scale);
  }
  line(img, px0, py0, px0, py1, black);
  line(img, px0, py1, px1, py1, black);
  const std::string xl = "generation (0-based)";
  draw_text(img, (px0 + px1 - text_width(xl, scale)) / 2, py1 + 40, xl, black, scale);
  draw_text(img, 10, py0 - 30, s.y_label, black, scale);

  auto polyline = [&](const std::vector<double>& v, const std::uint8_t c[3], int r, int dash) {
    for (std::size_t g = 0; g + 1 < v.size(); ++g)
      if (std::isfinite(v[g]) && std::isfinite(v[g + 1])) line(img, X(g), Y(v[g]), X(g + 1.0), Y(v[g + 1]), c, r, dash);
    for (std::size_t g = 0; g < v.size(); ++g)
      if (std::isfinite(v[g])) dot(img, X(static_cast<double>(g)), Y(v[g]), r + 1, c);
  };
  for (std::size_t m = 0; m < s.members.size(); ++m) {
    std::uint8_t c[3];
    study_colour(m, c);
    for (auto& ch : c) ch = static_cast<std::uint8_t>(ch + (255 - ch) * 2 / 5);  // lighter than best / median
    polyline(s.members[m], c, 0, 0);
  }
  polyline(s.median, median_c, 1, 6);
  polyline(s.best, black, 1, 0);
  auto value = [&](std::int64_t g, int slot) {
    return slot >= 0 && static_cast<std::size_t>(slot) < s.members.size() && g >= 0 && g < s.generations
               ? s.members[static_cast<std::size_t>(slot)][static_cast<std::size_t>(g)] : NAN;
  };
  for (const auto& [g, slot] : s.replaced) {
    const double v = value(g, slot);
    if (!std::isfinite(v)) continue;
    const int x = X(static_cast<double>(g)), y = Y(v);
    line(img, x - 6, y - 6, x + 6, y + 6, red, 1);
    line(img, x - 6, y + 6, x + 6, y - 6, red, 1);
  }
  for (const auto& [g, slot] : s.children) {
    const double v = value(g, slot);
    if (!std::isfinite(v)) continue;
    const int x = X(static_cast<double>(g)), y = Y(v);
    for (int dy = 0; dy <= 9; ++dy) line(img, x - dy * 2 / 3, y - 6 + dy, x + dy * 2 / 3, y - 6 + dy, green);
  }
  // Legend.
  int ly = py0 + 10;
  const int lx = px1 + 30;
  auto entry = [&](const std::string& text, auto&& glyph) {
    glyph(lx + 15, ly + 7);
    draw_text(img, lx + 40, ly, text, black, scale);
    ly += 30;
  };
  entry("best", [&](int x, int y) { line(img, x - 12, y, x + 12, y, black, 1); });
  entry("median", [&](int x, int y) { line(img, x - 12, y, x + 12, y, median_c, 1, 6); });
  entry("members", [&](int x, int y) { std::uint8_t c[3]; study_colour(0, c); line(img, x - 12, y, x + 12, y, c); });
  entry("replaced", [&](int x, int y) { line(img, x - 6, y - 6, x + 6, y + 6, red, 1); line(img, x - 6, y + 6, x + 6, y - 6, red, 1); });
  entry("child", [&](int x, int y) { for (int dy = 0; dy <= 9; ++dy) line(img, x - dy * 2 / 3, y - 6 + dy, x + dy * 2 / 3, y - 6 + dy, green); });
  return img;
}

RgbImage plot_lines(const LinePlot& p) {
  const int W = 1200, H = 640, scale = 2;
  RgbImage img(W, H);
  const std::uint8_t black[3] = {0, 0, 0}, grey[3] = {225, 225, 225}, dark[3] = {90, 90, 90};
  const int px0 = 130, px1 = W - 250, py0 = 60, py1 = H - 80;
  draw_text(img, (W - text_width(p.title, scale)) / 2, 8, p.title, black, scale);
  auto tx = [&](double v) { return p.log_x ? (v > 0.0 ? std::log10(v) : NAN) : v; };
  auto ty = [&](double v) { return p.log_y ? (v > 0.0 ? std::log10(v) : NAN) : v; };
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  std::vector<double> xs;
  for (const auto& s : p.series)
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      const double x = tx(s.x[i]), y = ty(s.y[i]);
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      xlo = std::min(xlo, x), xhi = std::max(xhi, x), ylo = std::min(ylo, y), yhi = std::max(yhi, y);
      if (std::find(xs.begin(), xs.end(), s.x[i]) == xs.end()) xs.push_back(s.x[i]);
    }
  if (!std::isfinite(xlo)) {
    draw_text(img, (W - text_width("no data", scale)) / 2, H / 2, "no data", dark, scale);
    return img;
  }
  if (xhi <= xlo) xlo -= 0.5, xhi += 0.5;
  std::vector<double> yt;  // in plotted (possibly log) units
  int ydec = 0;
  if (p.log_y) {
    ylo = std::floor(ylo), yhi = std::ceil(yhi);
    if (yhi <= ylo) yhi = ylo + 1.0;
    for (double e = ylo; e <= yhi + 1e-9; e += 1.0) yt.push_back(e);
  } else {
    const double pad = yhi > ylo ? 0.05 * (yhi - ylo) : 0.5 * std::max(1e-3, std::abs(ylo));
    yt = nice_ticks(ylo - pad, yhi + pad, 6, &ydec);
    ylo = std::min(ylo - pad, yt.front()), yhi = std::max(yhi + pad, yt.back());
  }
  const double xpad = 0.04 * (xhi - xlo);
  xlo -= xpad, xhi += xpad;
  auto X = [&](double v) { return px0 + static_cast<int>(std::lround((v - xlo) / (xhi - xlo) * (px1 - px0))); };
  auto Y = [&](double v) { return py1 - static_cast<int>(std::lround((v - ylo) / (yhi - ylo) * (py1 - py0))); };
  for (double t : yt) {
    const int y = Y(t);
    if (y < py0 - 1 || y > py1 + 1) continue;
    line(img, px0, y, px1, y, grey);
    std::string l;
    if (p.log_y) {
      const int e = static_cast<int>(std::lround(t));
      l = e >= 0 ? format(std::pow(10.0, e), 0) : format(std::pow(10.0, e), -e);
    } else {
      l = format(t, ydec);
    }
    draw_text(img, px0 - 10 - text_width(l, scale), y - 7, l, black, scale);
  }
  std::vector<double> xt;
  int xdec = 0;
  if (p.log_x) {
    std::sort(xs.begin(), xs.end());
    xt = xs;
  } else {
    xt = nice_ticks(xlo, xhi, 10, &xdec);
  }
  for (double t : xt) {
    const double v = tx(t);
    if (!std::isfinite(v) || v < xlo || v > xhi) continue;
    line(img, X(v), py0, X(v), py1, grey);
    const std::string l = format(t, p.log_x ? 0 : xdec);
    draw_text(img, X(v) - text_width(l, scale) / 2, py1 + 12, l, black, scale);
  }
  line(img, px0, py0, px0, py1, black);
  line(img, px0, py1, px1, py1, black);
  draw_text(img, (px0 + px1 - text_width(p.x_label, scale)) / 2, py1 + 40, p.x_label, black, scale);
  draw_text(img, 10, py0 - 24, p.y_label, black, scale);
  int ly = py0 + 10;
  for (std::size_t k = 0; k < p.series.size(); ++k) {
    const auto& s = p.series[k];
    std::uint8_t c[3];
    study_colour(k, c);
    bool have = false;
    int lastx = 0, lasty = 0;
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      const double x = tx(s.x[i]), y = ty(s.y[i]);
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      const int cx = X(x), cy = Y(y);
      if (have) line(img, lastx, lasty, cx, cy, c, 1);
      dot(img, cx, cy, 4, c);
      have = true, lastx = cx, lasty = cy;
    }
    line(img, px1 + 30, ly + 7, px1 + 55, ly + 7, c, 1);
    dot(img, px1 + 42, ly + 7, 4, c);
    draw_text(img, px1 + 65, ly, s.name, black, scale);
    ly += 30;
  }
  return img;
}

void write_png(const std::string& path, const RgbImage& image) {
  std::string png;
  try {
    png = encode_png(image.width, image.height, 3, image.pixels.data());
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot write " + path + ": " + e.what());
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(png.data(), static_cast<std::streamsize>(png.size()));
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string p = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

void run_dot(const std::string& dot_file, const std::string& format, const std::string& out_file) {
  const std::string dot = find_program("dot");
  if (dot.empty())
    throw std::runtime_error("Graphviz is not installed (no `dot` on PATH); the report lays out the lineage "
                             "with it: apt-get install graphviz");
  const std::string t = "-T" + format;
  std::vector<char*> argv{const_cast<char*>(dot.c_str()), const_cast<char*>(t.c_str()), const_cast<char*>("-o"),
                          const_cast<char*>(out_file.c_str()), const_cast<char*>(dot_file.c_str()), nullptr};
  pid_t pid = 0;
  if (const int rc = posix_spawn(&pid, dot.c_str(), nullptr, nullptr, argv.data(), environ); rc != 0)
    throw std::runtime_error("cannot start " + dot + ": " + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(dot + " " + t + " failed on " + dot_file + " (exit status " +
                             std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
}

}  // namespace pbtnas::report
