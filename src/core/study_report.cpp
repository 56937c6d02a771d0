// Study statistics (mean, population std, the rank-sum test) and the report (study.md): the
// numbers `pbtnas study-report` writes (docs/study.md).
#include "pbtnas/core/study.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>

namespace pbtnas {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

// ------------------------------------------------------------------ statistics

double mean_of(const std::vector<double>& x) {
  if (x.empty()) return kNaN;
  double s = 0.0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}

double population_std(const std::vector<double>& x) {
  if (x.empty()) return kNaN;
  const double m = mean_of(x);
  double s = 0.0;
  for (double v : x) s += (v - m) * (v - m);
  return std::sqrt(s / static_cast<double>(x.size()));
}

double rank_sum_cdf(int n1, int n2, double u) {
  if (n1 < 0 || n2 < 0) throw std::invalid_argument("rank_sum_cdf: negative sample size");
  const int max_u = n1 * n2;
  // c[j][k] for the current i: orderings of i values of a and j values of b with U = k.
  std::vector<std::vector<double>> prev(static_cast<std::size_t>(n2 + 1), std::vector<double>(max_u + 1, 0.0));
  for (int j = 0; j <= n2; ++j) prev[j][0] = 1.0;  // i = 0: U = 0
  for (int i = 1; i <= n1; ++i) {
    std::vector<std::vector<double>> cur(static_cast<std::size_t>(n2 + 1), std::vector<double>(max_u + 1, 0.0));
    cur[0][0] = 1.0;  // j = 0: U = 0
    for (int j = 1; j <= n2; ++j)
      for (int k = 0; k <= i * j; ++k)
        // The largest pooled value belongs to a (then it beats all j of b) or to b.
        cur[j][k] = (k >= j ? prev[j][k - j] : 0.0) + cur[j - 1][k];
    prev.swap(cur);
  }
  double total = 0.0, below = 0.0;
  for (int k = 0; k <= max_u; ++k) {
    total += prev[n2][k];
    if (k <= u + 1e-9) below += prev[n2][k];
  }
  return below / total;
}

RankSumTest rank_sum_test(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.empty() || b.empty()) throw std::invalid_argument("rank_sum_test: both samples need at least one value");
  for (double v : a)
    if (!std::isfinite(v)) throw std::invalid_argument("rank_sum_test: a sample holds a non-finite value");
  for (double v : b)
    if (!std::isfinite(v)) throw std::invalid_argument("rank_sum_test: a sample holds a non-finite value");
  RankSumTest t;
  t.n1 = static_cast<int>(a.size());
  t.n2 = static_cast<int>(b.size());
  const int n = t.n1 + t.n2;
  std::vector<std::pair<double, int>> pooled;  // value, 0 = a / 1 = b
  for (double v : a) pooled.push_back({v, 0});
  for (double v : b) pooled.push_back({v, 1});
  std::sort(pooled.begin(), pooled.end());
  double tie_term = 0.0;  // sum over tie groups of t^3 - t
  for (int i = 0; i < n;) {
    int j = i;
    while (j < n && pooled[j].first == pooled[i].first) ++j;
    const double mid_rank = (i + 1 + j) / 2.0;  // ranks i+1 .. j
    for (int k = i; k < j; ++k)
      if (pooled[k].second == 0) t.rank_sum1 += mid_rank;
    const double size = j - i;
    if (j - i > 1) {
      t.ties = true;
      tie_term += size * size * size - size;
    }
    i = j;
  }
  const double n1 = t.n1, n2 = t.n2;
  t.u1 = t.rank_sum1 - n1 * (n1 + 1) / 2.0;
  t.u2 = n1 * n2 - t.u1;
  if (!t.ties && n <= kExactMaxTotal) {
    t.exact = true;
    const double lo = rank_sum_cdf(t.n1, t.n2, std::min(t.u1, t.u2));  // P(U <= min(U1, U2))
    t.p = std::min(1.0, 2.0 * lo);  // the null distribution is symmetric about n1 n2 / 2
    return t;
  }
  const double mu = n1 * n2 / 2.0;
  const double var = n1 * n2 / 12.0 * ((n + 1) - tie_term / (static_cast<double>(n) * (n - 1)));
  if (var <= 0.0) {  // every value equal
    t.z = 0.0;
    t.p = 1.0;
    return t;
  }
  t.z = std::max(0.0, std::max(t.u1, t.u2) - mu - 0.5) / std::sqrt(var);
  t.p = std::min(1.0, std::erfc(t.z / std::sqrt(2.0)));  // 2 * (1 - Phi(z))
  return t;
}

// ------------------------------------------------------------------ the report

StudyReport summarize_study(const Study& st, const std::vector<RunOutcome>& outcomes) {
  StudyReport rep;
  rep.study = st.path;
  rep.metric = st.metric;
  rep.higher_is_better = st.higher_is_better;
  std::map<int, const RunOutcome*> by_run;
  for (const auto& o : outcomes) by_run[o.run] = &o;
  for (std::size_t vi = 0; vi < st.variants.size(); ++vi) {
    VariantStats vs;
    vs.name = st.variants[vi].name;
    vs.overrides = st.variants[vi].overrides;
    std::vector<const RunOutcome*> finished;
    for (const auto& r : st.runs) {
      if (r.variant != static_cast<int>(vi)) continue;
      const std::string who = r.variant_name + " seed " + std::to_string(r.seed);
      auto it = by_run.find(r.index);
      if (it == by_run.end() || !it->second->finished) {
        rep.missing.push_back(who + ": " + (it == by_run.end() || it->second->note.empty() ? "not finished" : it->second->note));
        continue;
      }
      const RunOutcome& o = *it->second;
      finished.push_back(&o);
      if (!std::isfinite(o.final_metric)) {
        rep.missing.push_back(who + ": " + (o.note.empty() ? "no value of " + st.metric : o.note));
        continue;
      }
      vs.seeds.push_back(r.seed);
      vs.values.push_back(o.final_metric);
    }
    vs.mean = mean_of(vs.values);
    vs.std = population_std(vs.values);
    vs.min = vs.values.empty() ? kNaN : *std::min_element(vs.values.begin(), vs.values.end());
    vs.max = vs.values.empty() ? kNaN : *std::max_element(vs.values.begin(), vs.values.end());
    std::size_t gens = 0;
    for (auto* o : finished) gens = std::max(gens, o->best_per_generation.size());
    for (std::size_t g = 0; g < gens; ++g) {
      std::vector<double> x;
      for (auto* o : finished)
        if (g < o->best_per_generation.size() && std::isfinite(o->best_per_generation[g]))
          x.push_back(o->best_per_generation[g]);
      vs.gen_mean.push_back(mean_of(x));
      vs.gen_std.push_back(population_std(x));
      vs.gen_min.push_back(x.empty() ? kNaN : *std::min_element(x.begin(), x.end()));
      vs.gen_max.push_back(x.empty() ? kNaN : *std::max_element(x.begin(), x.end()));
      vs.gen_n.push_back(static_cast<int>(x.size()));
    }
    rep.variants.push_back(std::move(vs));
  }
  for (std::size_t vi = 1; vi < rep.variants.size(); ++vi) {
    VariantComparison c;
    c.reference = rep.variants[0].name;
    c.other = rep.variants[vi].name;
    if (!rep.variants[0].values.empty() && !rep.variants[vi].values.empty()) {
      c.test = rank_sum_test(rep.variants[0].values, rep.variants[vi].values);
      c.valid = true;
    }
    rep.comparisons.push_back(c);
  }
  return rep;
}

std::string study_markdown(const StudyReport& rep) {
  auto num = [](double v) { return std::isfinite(v) ? fmt("%.4g", v) : std::string("–"); };
  auto pm = [&](double m, double s) { return std::isfinite(m) ? num(m) + " ± " + num(s) : std::string("–"); };
  std::ostringstream o;
  o << "# Study " << rep.study << "\n\n";
  o << "Final metric: `" << rep.metric << "` (" << (rep.higher_is_better ? "higher" : "lower")
    << " is better), of each run's best-ever member. Mean ± population standard deviation "
       "(divided by n, as the paper) over the seeds; n is the number of seeds that count.\n\n";
  o << "| variant | set | n | seeds | " << rep.metric << " mean ± std | min | max |\n";
  o << "|---|---|---|---|---|---|---|\n";
  for (const auto& v : rep.variants) {
    std::string seeds;
    for (auto s : v.seeds) seeds += (seeds.empty() ? "" : " ") + std::to_string(s);
    o << "| " << v.name << " | `" << v.overrides << "` | " << v.values.size() << " | " << (seeds.empty() ? "–" : seeds)
      << " | " << pm(v.mean, v.std) << " | " << num(v.min) << " | " << num(v.max) << " |\n";
  }
  if (!rep.comparisons.empty()) {
    o << "\n## " << rep.variants[0].name << " against the other variants\n\n";
    o << "Wilcoxon rank-sum (Mann–Whitney U) test on the final metric, two-sided. U is the "
         "reference's U (pairs in which its value is the larger; ties count 1/2). The p-value is "
         "exact (the null distribution of U, counted) when the pooled sample has no ties and at most "
         << kExactMaxTotal
         << " values; otherwise it is the normal approximation with the tie correction of the "
            "variance and a continuity correction of 1/2.\n\n";
    o << "| reference | other | n1 | n2 | U | p (two-sided) | method |\n|---|---|---|---|---|---|---|\n";
    for (const auto& c : rep.comparisons) {
      o << "| " << c.reference << " | " << c.other << " | ";
      if (!c.valid) {
        o << "– | – | – | – | no values on one side |\n";
        continue;
      }
      o << c.test.n1 << " | " << c.test.n2 << " | " << fmt("%g", c.test.u1) << " | " << fmt("%.4g", c.test.p) << " | "
        << (c.test.exact ? "exact" : "normal approximation (z = " + fmt("%.3f", c.test.z) + (c.test.ties ? ", ties" : "") + ")")
        << " |\n";
    }
  }
  std::size_t gens = 0;
  for (const auto& v : rep.variants) gens = std::max(gens, v.gen_mean.size());
  if (gens > 0) {
    o << "\n## Best fitness per generation\n\nThe population's best fitness in each generation: mean ± "
         "population std over the finished runs (n in brackets when it differs from the seeds that count). "
         "Generations are numbered from 0, as in the runs' folders and logs.\n\n";
    o << "| generation |";
    for (const auto& v : rep.variants) o << " " << v.name << " |";
    o << "\n|---|";
    for (std::size_t i = 0; i < rep.variants.size(); ++i) o << "---|";
    o << "\n";
    for (std::size_t g = 0; g < gens; ++g) {
      o << "| " << g << " |";
      for (const auto& v : rep.variants) {
        if (g >= v.gen_mean.size() || v.gen_n[g] == 0) {
          o << " – |";
          continue;
        }
        o << " " << pm(v.gen_mean[g], v.gen_std[g]);
        if (v.gen_n[g] != static_cast<int>(v.values.size())) o << " (" << v.gen_n[g] << ")";
        o << " |";
      }
      o << "\n";
    }
  }
  if (!rep.missing.empty()) {
    o << "\n## Runs that do not count\n\n";
    for (const auto& m : rep.missing) o << "* " << m << "\n";
  }
  o << "\nFigure: `study.png` (best fitness per generation: mean line and min–max band per variant).\n";
  return o.str();
}

}  // namespace pbtnas
