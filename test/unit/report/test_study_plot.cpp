// The study figure (report/study_plot.hpp): ticks, text and the plot's content.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "pbtnas/report/study_plot.hpp"

using namespace pbtnas;

namespace {

bool has_colour(const RgbImage& img, const std::uint8_t c[3]) {
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const std::uint8_t* p = img.at(x, y);
      if (p[0] == c[0] && p[1] == c[1] && p[2] == c[2]) return true;
    }
  return false;
}

int count_colour(const RgbImage& img, int x0, int y0, int x1, int y1, const std::uint8_t c[3]) {
  int n = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) {
      const std::uint8_t* p = img.at(x, y);
      n += p[0] == c[0] && p[1] == c[1] && p[2] == c[2];
    }
  return n;
}

}  // namespace

TEST_CASE("study plot: nice ticks are 1 2 5 steps covering the range") {
  int dec = -1;
  std::vector<double> t = nice_ticks(0.0, 1.0, 5, &dec);
  REQUIRE(t.size() == 6);
  CHECK(t[1] == Approx(0.2));
  CHECK(dec == 1);
  t = nice_ticks(-49.6, -24.9, 6, &dec);
  CHECK(t.front() == Approx(-45.0));
  CHECK(t.back() == Approx(-25.0));
  CHECK(dec == 0);
  t = nice_ticks(0.81, 0.83, 4, &dec);
  CHECK(dec == 3);
  CHECK(t.front() == Approx(0.81));
  // A flat range is widened instead of giving no ticks.
  CHECK(nice_ticks(2.0, 2.0, 5, &dec).size() >= 2);
}

TEST_CASE("study plot: text is drawn with the built-in font") {
  RgbImage img(60, 20);
  const std::uint8_t black[3] = {0, 0, 0};
  CHECK(text_width("ab1", 1) == 17);
  CHECK(draw_text(img, 1, 1, "ab1", black, 1) == 18);
  // 'A' has ink in its top row's middle, not in its corners.
  CHECK(img.at(1 + 2, 1)[0] == 0);
  CHECK(img.at(1, 1)[0] == 255);
  // Lower case is drawn as the capital.
  RgbImage a(10, 10), b(10, 10);
  draw_text(a, 0, 0, "q", black, 1);
  draw_text(b, 0, 0, "Q", black, 1);
  CHECK(a.pixels == b.pixels);
}

TEST_CASE("study plot: every variant is drawn in its colour with axes and a legend") {
  StudyReport rep;
  rep.metric = "best_ever_fitness";
  for (int v = 0; v < 3; ++v) {
    VariantStats s;
    s.name = "variant_" + std::to_string(v);
    s.values = {0.5, 0.6};
    for (int g = 0; g < 5; ++g) {
      const double m = 0.5 + 0.05 * g + 0.1 * v;
      s.gen_mean.push_back(m);
      s.gen_std.push_back(0.01);
      s.gen_min.push_back(m - 0.02);
      s.gen_max.push_back(m + 0.02);
      s.gen_n.push_back(2);
    }
    rep.variants.push_back(s);
  }
  const RgbImage img = plot_study(rep);
  CHECK(img.width == 1200);
  CHECK(img.height == 720);
  for (std::size_t v = 0; v < 3; ++v) {
    std::uint8_t c[3];
    study_colour(v, c);
    CHECK(has_colour(img, c));
  }
  const std::uint8_t black[3] = {0, 0, 0};
  // The y axis (a vertical black line at the plot's left edge) and tick labels left of it.
  CHECK(count_colour(img, 109, 100, 112, 600, black) > 400);
  CHECK(count_colour(img, 30, 60, 100, 650, black) > 50);
  // A report without finished runs still gives a figure (with a note).
  StudyReport empty;
  empty.variants.push_back(VariantStats{});
  const RgbImage e = plot_study(empty);
  CHECK(count_colour(e, 0, 300, 1200, 400, black) == 0);
  CHECK(e.width == 1200);
}
