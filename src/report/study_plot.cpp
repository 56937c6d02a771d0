#include "pbtnas/report/study_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace pbtnas {
namespace {

// A 5x7 bitmap font, one string of 7 rows x 5 columns per glyph ('#' = ink).
const std::map<char, const char*>& font() {
  static const std::map<char, const char*> f = {
      {'A', " ### #   ##   #######   ##   ##   #"}, {'B', "#### #   ##   ##### #   ##   ##### "},
      {'C', " ### #   ##    #    #    #   # ### "}, {'D', "#### #   ##   ##   ##   ##   ##### "},
      {'E', "######    #    #### #    #    #####"}, {'F', "######    #    #### #    #    #    "},
      {'G', " ### #   ##    # ####   ##   # ####"}, {'H', "#   ##   ##   #######   ##   ##   #"},
      {'I', " ###   #    #    #    #    #   ### "}, {'J', "  ###   #    #    #    ##  #  ##   "},
      {'K', "#   ##  # # #  ##   # #  #  # #   #"}, {'L', "#    #    #    #    #    #    #####"},
      {'M', "#   ### ### # ## # ##   ##   ##   #"}, {'N', "#   ##   ###  ## # ##  ###   ##   #"},
      {'O', " ### #   ##   ##   ##   ##   # ### "}, {'P', "#### #   ##   ##### #    #    #    "},
      {'Q', " ### #   ##   ##   ## # ##  #  ## #"}, {'R', "#### #   ##   ##### # #  #  # #   #"},
      {'S', " #####    #     ###     #    ##### "}, {'T', "#####  #    #    #    #    #    #  "},
      {'U', "#   ##   ##   ##   ##   ##   # ### "}, {'V', "#   ##   ##   ##   ##   # # #   #  "},
      {'W', "#   ##   ##   ## # ## # ## # # # # "}, {'X', "#   ##   # # #   #   # # #   ##   #"},
      {'Y', "#   ##   # # #   #    #    #    #  "}, {'Z', "#####    #   #   #   #   #    #####"},
      {'0', " ### #   ##  ### # ###  ##   # ### "}, {'1', "  #   ##    #    #    #    #   ### "},
      {'2', " ### #   #    #   #   #   #   #####"}, {'3', "#####   #   #     #     ##   # ### "},
      {'4', "   #   ##  # # #  # #####   #    # "}, {'5', "######    ####     #    ##   # ### "},
      {'6', "  ##  #   #    #### #   ##   # ### "}, {'7', "#####    #   #   #   #    #    #   "},
      {'8', " ### #   ##   # ### #   ##   # ### "}, {'9', " ### #   ##   # ####    #   #  ##  "},
      {'.', "                          ##   ##  "}, {',', "                     ##    #   #   "},
      {':', "      ##   ##        ##   ##       "}, {';', "      ##   ##        ##    #   #   "},
      {'-', "               #####               "}, {'_', "                              #####"},
      {'+', "       #    #  #####  #    #       "}, {'=', "          #####     #####          "},
      {'/', "         #   #   #   #   #         "}, {'(', "   #   #   #    #    #     #     # "},
      {')', " #     #     #    #    #   #   #   "}, {'[', " ###  #    #    #    #    #    ### "},
      {']', " ###    #    #    #    #    #  ### "}, {'%', "##   ##  #   #   #   #   #  ##   ##"},
      {'<', "   #   #   #   #     #     #     # "}, {'>', " #     #     #     #   #   #   #   "},
      {'\'', "  #    #    #                      "}, {'#', " # #  # # ##### # # ##### # #  # # "},
      {'*', "       # # # ### ##### ### # # #   "}, {'?', " ### #   #    #   #   #         #  "},
      {' ', "                                   "},
  };
  return f;
}

void put(RgbImage& img, int x, int y, const std::uint8_t rgb[3], double alpha = 1.0) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  std::uint8_t* p = &img.pixels[(static_cast<std::size_t>(y) * img.width + x) * 3];
  for (int c = 0; c < 3; ++c) p[c] = static_cast<std::uint8_t>(std::lround(alpha * rgb[c] + (1.0 - alpha) * p[c]));
}

void fill_rect(RgbImage& img, int x0, int y0, int x1, int y1, const std::uint8_t rgb[3], double alpha = 1.0) {
  for (int y = std::min(y0, y1); y <= std::max(y0, y1); ++y)
    for (int x = std::min(x0, x1); x <= std::max(x0, x1); ++x) put(img, x, y, rgb, alpha);
}

// A line `thick` pixels wide (a square brush along the Bresenham path).
void line(RgbImage& img, int x0, int y0, int x1, int y1, const std::uint8_t rgb[3], int thick = 1) {
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  const int lo = -(thick - 1) / 2, hi = thick / 2;
  while (true) {
    fill_rect(img, x0 + lo, y0 + lo, x0 + hi, y0 + hi, rgb);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
}

// Text turned 90 degrees counter-clockwise (reads bottom to top); (x, y) is its bottom-left corner.
void draw_text_up(RgbImage& img, int x, int y, const std::string& text, const std::uint8_t rgb[3], int scale) {
  int along = 0;
  for (char ch : text) {
    char c = (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 'a' + 'A') : ch;
    auto it = font().find(c);
    const char* g = it == font().end() ? font().at('?') : it->second;
    for (int r = 0; r < 7; ++r)
      for (int col = 0; col < 5; ++col)
        if (g[r * 5 + col] == '#')
          fill_rect(img, x + r * scale, y - (along + col) * scale - (scale - 1), x + r * scale + scale - 1,
                    y - (along + col) * scale, rgb);
    along += 6;
  }
}

std::string format(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s == "-0" || s.rfind("-0.", 0) == 0) {  // "-0.00" -> "0.00"
    bool zero = std::all_of(s.begin() + 1, s.end(), [](char c) { return c == '0' || c == '.'; });
    if (zero) s = s.substr(1);
  }
  return s;
}

}  // namespace

void study_colour(std::size_t i, std::uint8_t rgb[3]) {
  static const std::uint8_t palette[8][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},
                                             {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127}};
  for (int c = 0; c < 3; ++c) rgb[c] = palette[i % 8][c];
}

int text_width(const std::string& text, int scale) {
  return text.empty() ? 0 : (static_cast<int>(text.size()) * 6 - 1) * scale;
}

int draw_text(RgbImage& img, int x, int y, const std::string& text, const std::uint8_t rgb[3], int scale) {
  int cx = x;
  for (char ch : text) {
    char c = (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 'a' + 'A') : ch;
    auto it = font().find(c);
    const char* g = it == font().end() ? font().at('?') : it->second;
    for (int r = 0; r < 7; ++r)
      for (int col = 0; col < 5; ++col)
        if (g[r * 5 + col] == '#')
          fill_rect(img, cx + col * scale, y + r * scale, cx + col * scale + scale - 1, y + r * scale + scale - 1, rgb);
    cx += 6 * scale;
  }
  return cx - x;
}

std::vector<double> nice_ticks(double lo, double hi, int target, int* decimals) {
  if (!(hi > lo)) {
    const double pad = lo == 0.0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  if (decimals) *decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  std::vector<double> ticks;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k += 1.0)
    ticks.push_back(k == 0.0 ? 0.0 : k * step);
  return ticks;
}

namespace {

constexpr int kScale = 2;  // text scale of the study figure
const std::uint8_t kBlack[3] = {0, 0, 0}, kGrey[3] = {225, 225, 225}, kDark[3] = {90, 90, 90};

// The plot area of the study figure and its data -> pixel mapping.
struct StudyFrame {
  int px0 = 0, px1 = 0, py0 = 0, py1 = 0;  // plot area (pixels)
  double xlo = 0, xhi = 1, ylo = 0, yhi = 1;
  int X(double g) const { return px0 + static_cast<int>(std::lround((g - xlo) / (xhi - xlo) * (px1 - px0))); }
  int Y(double v) const {
    return py1 - static_cast<int>(std::lround((yhi > ylo ? (v - ylo) / (yhi - ylo) : 0.5) * (py1 - py0)));
  }
};

// Generations and the value range over every variant's min, max and mean (lo > hi: no data).
std::size_t study_range(const StudyReport& rep, double& lo, double& hi) {
  std::size_t gens = 0;
  lo = INFINITY;
  hi = -INFINITY;
  for (const auto& v : rep.variants) {
    gens = std::max(gens, v.gen_mean.size());
    for (std::size_t g = 0; g < v.gen_mean.size(); ++g)
      for (double x : {v.gen_min[g], v.gen_max[g], v.gen_mean[g]})
        if (std::isfinite(x)) {
          lo = std::min(lo, x);
          hi = std::max(hi, x);
        }
  }
  return gens;
}

// Grid lines, ticks and tick labels of both axes.
void draw_grid(RgbImage& img, const StudyFrame& f, const std::vector<double>& yt, int ydec) {
  for (double t : yt) {
    const int y = f.Y(t);
    if (y < f.py0 || y > f.py1) continue;
    line(img, f.px0, y, f.px1, y, kGrey);
    line(img, f.px0 - 6, y, f.px0, y, kBlack);
    const std::string s = format(t, ydec);
    draw_text(img, f.px0 - 10 - text_width(s, kScale), y - 7, s, kBlack, kScale);
  }
  // x ticks: generations (every one when few, else a nice step).
  int xdec = 0;
  for (double t : nice_ticks(f.xlo, f.xhi, 10, &xdec)) {
    if (t < f.xlo - 1e-9 || t > f.xhi + 1e-9 || std::abs(t - std::round(t)) > 1e-9) continue;
    const int x = f.X(t);
    line(img, x, f.py0, x, f.py1, kGrey);
    line(img, x, f.py1, x, f.py1 + 6, kBlack);
    const std::string s = format(t, 0);
    draw_text(img, x - text_width(s, kScale) / 2, f.py1 + 12, s, kBlack, kScale);
  }
}

// Every variant's min-max band (translucent).
void draw_bands(RgbImage& img, const StudyFrame& f, const StudyReport& rep) {
  for (std::size_t vi = 0; vi < rep.variants.size(); ++vi) {
    const auto& v = rep.variants[vi];
    std::uint8_t c[3];
    study_colour(vi, c);
    const std::size_t n = v.gen_mean.size();
    for (std::size_t g = 0; g + 1 < n; ++g) {
      if (!std::isfinite(v.gen_min[g]) || !std::isfinite(v.gen_min[g + 1])) continue;
      const int xa = f.X(static_cast<double>(g)), xb = f.X(static_cast<double>(g + 1));
      for (int x = xa; x < xb; ++x) {
        const double t = static_cast<double>(x - xa) / std::max(1, xb - xa);
        const int ya = f.Y(v.gen_min[g] + t * (v.gen_min[g + 1] - v.gen_min[g]));
        const int yb = f.Y(v.gen_max[g] + t * (v.gen_max[g + 1] - v.gen_max[g]));
        for (int y = std::min(ya, yb); y <= std::max(ya, yb); ++y) put(img, x, y, c, 0.18);
      }
    }
    if (n == 1 && std::isfinite(v.gen_min[0])) {
      const int x = f.X(1.0);
      fill_rect(img, x - 3, f.Y(v.gen_min[0]), x + 3, f.Y(v.gen_max[0]), c, 0.18);
    }
  }
}

// Every variant's mean line with a marker per generation.
void draw_means(RgbImage& img, const StudyFrame& f, const StudyReport& rep) {
  for (std::size_t vi = 0; vi < rep.variants.size(); ++vi) {
    const auto& v = rep.variants[vi];
    std::uint8_t c[3];
    study_colour(vi, c);
    for (std::size_t g = 0; g < v.gen_mean.size(); ++g) {
      if (!std::isfinite(v.gen_mean[g])) continue;
      const int x = f.X(static_cast<double>(g)), y = f.Y(v.gen_mean[g]);
      fill_rect(img, x - 3, y - 3, x + 3, y + 3, c);
      if (g + 1 < v.gen_mean.size() && std::isfinite(v.gen_mean[g + 1]))
        line(img, x, y, f.X(static_cast<double>(g + 1)), f.Y(v.gen_mean[g + 1]), c, 3);
    }
  }
}

void draw_legend(RgbImage& img, int lx, int ly, const std::vector<std::string>& labels) {
  for (std::size_t vi = 0; vi < labels.size(); ++vi) {
    std::uint8_t c[3];
    study_colour(vi, c);
    fill_rect(img, lx, ly, lx + 28, ly + 13, c, 0.18);
    line(img, lx, ly + 7, lx + 28, ly + 7, c, 3);
    draw_text(img, lx + 36, ly, labels[vi], kBlack, kScale);
    ly += 28;
  }
}

}  // namespace

RgbImage plot_study(const StudyReport& rep) {
  const int W = 1200, H = 720;
  RgbImage img(W, H);
  // Legend width from the longest entry.
  std::vector<std::string> labels;
  int legend_w = 0;
  for (const auto& v : rep.variants) {
    labels.push_back(v.name + " (n=" + std::to_string(v.values.size()) + ")");
    legend_w = std::max(legend_w, text_width(labels.back(), kScale));
  }
  const int left = 110, top = 60, bottom = 80;
  const int right = std::min(W / 2, legend_w + 90);
  StudyFrame f;
  f.px0 = left;
  f.px1 = W - right;
  f.py0 = top;
  f.py1 = H - bottom;

  double lo = 0, hi = 0;
  const std::size_t gens = study_range(rep, lo, hi);
  const std::string title = "best fitness per generation: mean over seeds (line), min-max (band)";
  draw_text(img, std::max(4, (W - text_width(title, kScale)) / 2), 18, title, kBlack, kScale);
  if (gens == 0 || !std::isfinite(lo)) {
    const std::string none = "no finished runs yet";
    draw_text(img, (W - text_width(none, kScale)) / 2, H / 2, none, kDark, kScale);
    return img;
  }
  if (hi > lo) {  // a little room above and below the data
    const double pad = 0.04 * (hi - lo);
    lo -= pad;
    hi += pad;
  }
  int ydec = 0;
  const std::vector<double> yt = nice_ticks(lo, hi, 6, &ydec);
  f.ylo = std::min(lo, yt.front());
  f.yhi = std::max(hi, yt.back());
  // Generations are numbered from 0, as in every output of a run.
  f.xlo = 0.0;
  f.xhi = std::max<double>(1.0, static_cast<double>(gens) - 1.0);

  draw_grid(img, f, yt, ydec);
  draw_bands(img, f, rep);  // bands first (translucent), then the mean lines on top
  draw_means(img, f, rep);
  // Axes and their titles.
  line(img, f.px0, f.py0, f.px0, f.py1, kBlack, 2);
  line(img, f.px0, f.py1, f.px1, f.py1, kBlack, 2);
  const std::string xlabel = "generation (from 0)";
  draw_text(img, (f.px0 + f.px1 - text_width(xlabel, kScale)) / 2, H - 36, xlabel, kBlack, kScale);
  const std::string ylabel = "best fitness of the population";
  draw_text_up(img, 14, (f.py0 + f.py1 + text_width(ylabel, kScale)) / 2, ylabel, kBlack, kScale);
  draw_legend(img, f.px1 + 24, f.py0 + 4, labels);
  return img;
}

}  // namespace pbtnas
