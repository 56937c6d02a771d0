// Runs the study's rank tests (core/rank_tests.hpp) on cases read from stdin, one per line:
//   signed_rank|rank_sum  two-sided|greater|less  X1,X2,...  Y1,Y2,...
// and prints one line per case: "p exact statistic" (statistic: W+ or U1), full precision.
// Driven by test/unit/stats/stats_vs_scipy.py, which compares the numbers with scipy's.
#include <cstdio>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "pbtnas/core/rank_tests.hpp"

namespace {

std::vector<double> parse_list(const std::string& text) {
  std::vector<double> v;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(std::stod(item));
  return v;
}

pbtnas::Alternative parse_alternative(const std::string& s) {
  if (s == "two-sided") return pbtnas::Alternative::TwoSided;
  if (s == "greater") return pbtnas::Alternative::Greater;
  if (s == "less") return pbtnas::Alternative::Less;
  throw std::invalid_argument("unknown alternative '" + s + "'");
}

}  // namespace

int main() {
  std::string line;
  int line_no = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::istringstream in(line);
    std::string test, alt, xs, ys;
    if (!(in >> test >> alt >> xs >> ys)) {
      std::cerr << "stats_cases: line " << line_no << ": expected TEST ALTERNATIVE X Y" << std::endl;
      return 2;
    }
    try {
      const auto x = parse_list(xs), y = parse_list(ys);
      const auto a = parse_alternative(alt);
      if (test == "signed_rank") {
        const auto t = pbtnas::signed_rank_test(x, y, a);
        std::printf("%.17g %d %.17g\n", t.p, t.exact ? 1 : 0, t.w_plus);
      } else if (test == "rank_sum") {
        const auto t = pbtnas::rank_sum_test(x, y, a);
        std::printf("%.17g %d %.17g\n", t.p, t.exact ? 1 : 0, t.u1);
      } else {
        throw std::invalid_argument("unknown test '" + test + "'");
      }
    } catch (const std::exception& e) {
      std::cerr << "stats_cases: line " << line_no << ": " << e.what() << std::endl;
      return 2;
    }
  }
  return 0;
}
