#pragma once
// The study figure (study.png): best fitness per generation, one colour per variant, the mean
// over seeds as a line and the min-max range over seeds as a translucent band, with axes, tick
// labels, axis titles and a legend. A small raster plotter with a built-in 5x7 bitmap font; the
// PNG encoder is util/png.hpp (through write_png, tasks/image_grid.hpp, called by the CLI).
#include <cstdint>
#include <string>
#include <vector>

#include "pbtnas/core/study.hpp"

namespace pbtnas {

// 8-bit RGB, row-major, height x width x 3.
struct RgbImage {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;
  RgbImage(int w, int h) : width(w), height(h), pixels(static_cast<std::size_t>(w) * h * 3, 255) {}
  const std::uint8_t* at(int x, int y) const { return &pixels[(static_cast<std::size_t>(y) * width + x) * 3]; }
};

// The colour of variant i (a fixed palette of 8, repeated).
void study_colour(std::size_t i, std::uint8_t rgb[3]);

// Draws `text` with the built-in font (upper-case letters, digits and . , : ; - _ + = / ( ) [ ] % < > ' # *;
// lower-case letters are drawn as capitals, anything else as '?'), top-left at (x, y), each font
// pixel `scale` x `scale` image pixels. Returns the width drawn. Clipped to the image.
int draw_text(RgbImage& img, int x, int y, const std::string& text, const std::uint8_t rgb[3], int scale = 1);
// Width in pixels of `text` at `scale` (6 * scale per character, less the last column's gap).
int text_width(const std::string& text, int scale = 1);

// The whole figure (1200 x 720).
RgbImage plot_study(const StudyReport& report);

// Tick positions for an axis covering [lo, hi]: multiples of a step of 1, 2 or 5 x 10^k giving
// about `target` ticks; `decimals` receives the digits after the point the labels need.
std::vector<double> nice_ticks(double lo, double hi, int target, int* decimals);

}  // namespace pbtnas
