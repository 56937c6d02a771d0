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

RgbImage plot_study(const StudyReport& rep) {
  const int W = 1200, H = 720, scale = 2;
  RgbImage img(W, H);
  const std::uint8_t black[3] = {0, 0, 0}, grey[3] = {225, 225, 225}, dark[3] = {90, 90, 90};

  // Legend width from the longest entry.
  std::vector<std::string> labels;
  int legend_w = 0;
  for (const auto& v : rep.variants) {
    labels.push_back(v.name + " (n=" + std::to_string(v.values.size()) + ")");
    legend_w = std::max(legend_w, text_width(labels.back(), scale));
  }
  const int left = 110, top = 60, bottom = 80;
  const int right = std::min(W / 2, legend_w + 90);
  const int px0 = left, px1 = W - right, py0 = top, py1 = H - bottom;

  std::size_t gens = 0;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& v : rep.variants) {
    gens = std::max(gens, v.gen_mean.size());
    for (std::size_t g = 0; g < v.gen_mean.size(); ++g) {
      for (double x : {v.gen_min[g], v.gen_max[g], v.gen_mean[g]})
        if (std::isfinite(x)) {
          lo = std::min(lo, x);
          hi = std::max(hi, x);
        }
    }
  }
  const std::string title = "best fitness per generation: mean over seeds (line), min-max (band)";
  draw_text(img, std::max(4, (W - text_width(title, scale)) / 2), 18, title, black, scale);
  if (gens == 0 || !std::isfinite(lo)) {
    const std::string none = "no finished runs yet";
    draw_text(img, (W - text_width(none, scale)) / 2, H / 2, none, dark, scale);
    return img;
  }
  if (hi > lo) {  // a little room above and below the data
    const double pad = 0.04 * (hi - lo);
    lo -= pad;
    hi += pad;
  }
  int ydec = 0;
  std::vector<double> yt = nice_ticks(lo, hi, 6, &ydec);
  const double ylo = std::min(lo, yt.front()), yhi = std::max(hi, yt.back());
  // Generations are numbered from 0, as in every output of a run.
  const double xlo = 0.0, xhi = std::max<double>(1.0, static_cast<double>(gens) - 1.0);
  auto X = [&](double g) { return px0 + static_cast<int>(std::lround((g - xlo) / (xhi - xlo) * (px1 - px0))); };
  auto Y = [&](double v) {
    return py1 - static_cast<int>(std::lround((yhi > ylo ? (v - ylo) / (yhi - ylo) : 0.5) * (py1 - py0)));
  };

  // Grid and y ticks.
  for (double t : yt) {
    const int y = Y(t);
    if (y < py0 || y > py1) continue;
    line(img, px0, y, px1, y, grey);
    line(img, px0 - 6, y, px0, y, black);
    const std::string s = format(t, ydec);
    draw_text(img, px0 - 10 - text_width(s, scale), y - 7, s, black, scale);
  }
  // x ticks: generations (every one when few, else a nice step).
  int xdec = 0;
  std::vector<double> xt = nice_ticks(xlo, xhi, 10, &xdec);
  for (double t : xt) {
    if (t < xlo - 1e-9 || t > xhi + 1e-9 || std::abs(t - std::round(t)) > 1e-9) continue;
    const int x = X(t);
    line(img, x, py0, x, py1, grey);
    line(img, x, py1, x, py1 + 6, black);
    const std::string s = format(t, 0);
    draw_text(img, x - text_width(s, scale) / 2, py1 + 12, s, black, scale);
  }

  // Bands first (translucent), then the mean lines on top.
  for (std::size_t vi = 0; vi < rep.variants.size(); ++vi) {
    const auto& v = rep.variants[vi];
    std::uint8_t c[3];
    study_colour(vi, c);
    const std::size_t n = v.gen_mean.size();
    for (std::size_t g = 0; g + 1 < n; ++g) {
      if (!std::isfinite(v.gen_min[g]) || !std::isfinite(v.gen_min[g + 1])) continue;
      const int xa = X(static_cast<double>(g)), xb = X(static_cast<double>(g + 1));
      for (int x = xa; x < xb; ++x) {
        const double f = static_cast<double>(x - xa) / std::max(1, xb - xa);
        const int ya = Y(v.gen_min[g] + f * (v.gen_min[g + 1] - v.gen_min[g]));
        const int yb = Y(v.gen_max[g] + f * (v.gen_max[g + 1] - v.gen_max[g]));
        for (int y = std::min(ya, yb); y <= std::max(ya, yb); ++y) put(img, x, y, c, 0.18);
      }
    }
    if (n == 1 && std::isfinite(v.gen_min[0])) {
      const int x = X(1.0);
      fill_rect(img, x - 3, Y(v.gen_min[0]), x + 3, Y(v.gen_max[0]), c, 0.18);
    }
  }
  for (std::size_t vi = 0; vi < rep.variants.size(); ++vi) {
    const auto& v = rep.variants[vi];
    std::uint8_t c[3];
    study_colour(vi, c);
    for (std::size_t g = 0; g < v.gen_mean.size(); ++g) {
      if (!std::isfinite(v.gen_mean[g])) continue;
      const int x = X(static_cast<double>(g)), y = Y(v.gen_mean[g]);
      fill_rect(img, x - 3, y - 3, x + 3, y + 3, c);  // a marker per generation
      if (g + 1 < v.gen_mean.size() && std::isfinite(v.gen_mean[g + 1]))
        line(img, x, y, X(static_cast<double>(g + 1)), Y(v.gen_mean[g + 1]), c, 3);
    }
  }

  // Axes and their titles.
  line(img, px0, py0, px0, py1, black, 2);
  line(img, px0, py1, px1, py1, black, 2);
  const std::string xlabel = "generation (from 0)";
  draw_text(img, (px0 + px1 - text_width(xlabel, scale)) / 2, H - 36, xlabel, black, scale);
  const std::string ylabel = "best fitness of the population";
  draw_text_up(img, 14, (py0 + py1 + text_width(ylabel, scale)) / 2, ylabel, black, scale);

  // Legend.
  int ly = py0 + 4;
  const int lx = px1 + 24;
  for (std::size_t vi = 0; vi < labels.size(); ++vi) {
    std::uint8_t c[3];
    study_colour(vi, c);
    fill_rect(img, lx, ly, lx + 28, ly + 13, c, 0.18);
    line(img, lx, ly + 7, lx + 28, ly + 7, c, 3);
    draw_text(img, lx + 36, ly, labels[vi], black, scale);
    ly += 28;
  }
  return img;
}

}  // namespace pbtnas
