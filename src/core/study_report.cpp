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
#include <string>

namespace pbtnas {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// What the metric is, for the reports.
std::string metric_sentence(const std::string& metric, bool higher_is_better) {
  std::string what;
  if (metric == kBestEverFitness) what = "the search fitness of each run's best-ever member";
  else if (metric == kBestLastFitness)
    what = "the best search fitness of each run's final population (its last generation; the paper's RL metric)";
  else what = "the final evaluation of each run's best-ever member";
  return "Final metric: `" + metric + "` (" + (higher_is_better ? "higher" : "lower") + " is better), " + what + ".";
}

// The seeds both variants have a value for, with the two values of each.
void pair_by_seed(const VariantStats& ref, const VariantStats& other, std::vector<std::uint64_t>& seeds,
                  std::vector<double>& x, std::vector<double>& y) {
  for (std::size_t i = 0; i < ref.seeds.size(); ++i)
    for (std::size_t k = 0; k < other.seeds.size(); ++k)
      if (other.seeds[k] == ref.seeds[i]) {
        seeds.push_back(ref.seeds[i]);
        x.push_back(ref.values[i]);
        y.push_back(other.values[k]);
      }
}

std::string signed_rank_method(const SignedRankTest& t) {
  if (t.n == 0) return "no nonzero difference";
  std::string m = t.exact ? "exact" : "normal approximation (z = " + fmt("%.3f", t.z) + ")";
  std::string extra;
  if (t.ties) extra = "ties";
  if (t.zeros > 0) extra += (extra.empty() ? "" : ", ") + std::to_string(t.zeros) + (t.zeros == 1 ? " zero dropped" : " zeros dropped");
  return extra.empty() ? m : m + "; " + extra;
}

const char* kSignedRankNote =
    "Wilcoxon signed-rank test of the differences d = reference − other, one-sided towards the reference "
    "being better (alternative \"%s\": d tends to be %s). Pairs with d = 0 are dropped before ranking "
    "(scipy's zero_method \"wilcox\"); equal |d| get mid-ranks. W+ is the sum of the ranks of the "
    "positive d. The p-value is exact (the null distribution of W+ over all 2^n equally likely signs of "
    "the n ranked differences, counted; exact with ties and after dropping zeros too) up to %d "
    "differences, otherwise the normal approximation with the tie correction.";

std::string signed_rank_note(bool higher_is_better) {
  char buf[1024];
  const Alternative alt = better_alternative(higher_is_better);
  std::snprintf(buf, sizeof buf, kSignedRankNote, alternative_name(alt),
                alt == Alternative::Greater ? "positive" : "negative", kSignedRankExactMax);
  return buf;
}

}  // namespace

bool is_fitness_metric(const std::string& metric) { return metric == kBestEverFitness || metric == kBestLastFitness; }

Alternative better_alternative(bool higher_is_better) {
  return higher_is_better ? Alternative::Greater : Alternative::Less;
}

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
    std::vector<double> ever, last;
    for (auto* o : finished) {
      vs.best_ever_fitness.push_back(o->best_ever_fitness);
      vs.best_last_fitness.push_back(o->best_last_fitness);
      if (std::isfinite(o->best_ever_fitness)) ever.push_back(o->best_ever_fitness);
      if (std::isfinite(o->best_last_fitness)) last.push_back(o->best_last_fitness);
    }
    vs.best_ever_mean = mean_of(ever);
    vs.best_ever_std = population_std(ever);
    vs.best_ever_n = static_cast<int>(ever.size());
    vs.best_last_mean = mean_of(last);
    vs.best_last_std = population_std(last);
    vs.best_last_n = static_cast<int>(last.size());
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
    std::vector<double> x, y;
    pair_by_seed(rep.variants[0], rep.variants[vi], c.paired_seeds, x, y);
    if (!x.empty()) {
      c.paired = signed_rank_test(x, y, better_alternative(rep.higher_is_better));
      c.paired_valid = true;
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
  o << metric_sentence(rep.metric, rep.higher_is_better)
    << " Mean ± population standard deviation (divided by n, as the paper) over the seeds; n is the "
       "number of seeds that count.\n\n";
  o << "| variant | set | n | seeds | " << rep.metric << " mean ± std | min | max |\n";
  o << "|---|---|---|---|---|---|---|\n";
  for (const auto& v : rep.variants) {
    std::string seeds;
    for (auto s : v.seeds) seeds += (seeds.empty() ? "" : " ") + std::to_string(s);
    o << "| " << v.name << " | `" << v.overrides << "` | " << v.values.size() << " | " << (seeds.empty() ? "–" : seeds)
      << " | " << pm(v.mean, v.std) << " | " << num(v.min) << " | " << num(v.max) << " |\n";
  }
  bool any_fitness = false;
  for (const auto& v : rep.variants) any_fitness = any_fitness || v.best_ever_n > 0 || v.best_last_n > 0;
  if (any_fitness) {
    o << "\nThe search fitness of the finished runs, whatever the metric: `" << kBestEverFitness
      << "` (the best-ever member) and `" << kBestLastFitness
      << "` (the best member of the final population; the paper's RL metric), mean ± population std (n).\n\n";
    o << "| variant | " << kBestEverFitness << " | " << kBestLastFitness << " |\n|---|---|---|\n";
    for (const auto& v : rep.variants) {
      auto cell = [&](double m, double s, int n) { return n == 0 ? std::string("–") : pm(m, s) + " (" + std::to_string(n) + ")"; };
      o << "| " << v.name << " | " << cell(v.best_ever_mean, v.best_ever_std, v.best_ever_n) << " | "
        << cell(v.best_last_mean, v.best_last_std, v.best_last_n) << " |\n";
    }
  }
  if (!rep.comparisons.empty()) {
    o << "\n## " << rep.variants[0].name << " against the other variants\n\n";
    const Alternative alt = better_alternative(rep.higher_is_better);
    o << "Wilcoxon rank-sum (Mann–Whitney U) test on the final metric, two-sided. U is the "
         "reference's U (pairs in which its value is the larger; ties count 1/2). The p-value is "
         "exact (the null distribution of U over all splits of the pooled mid-ranks, counted; exact with "
         "ties too) when the pooled sample has at most "
      << kExactMaxTotal
      << " values; otherwise it is the normal approximation with the tie correction of the "
         "variance and a continuity correction of 1/2.\n\n"
      << "Paired by seed (the seeds both variants have): " << signed_rank_note(rep.higher_is_better) << "\n\n";
    o << "| reference | other | n1 | n2 | U | p (two-sided) | method | pairs | W+ | p (signed-rank, " << alternative_name(alt)
      << ") | method |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& c : rep.comparisons) {
      o << "| " << c.reference << " | " << c.other << " | ";
      if (!c.valid)
        o << "– | – | – | – | no values on one side |";
      else
        o << c.test.n1 << " | " << c.test.n2 << " | " << fmt("%g", c.test.u1) << " | " << fmt("%.4g", c.test.p) << " | "
          << (c.test.exact ? std::string("exact") + (c.test.ties ? " (ties)" : "")
                           : "normal approximation (z = " + fmt("%.3f", c.test.z) + (c.test.ties ? ", ties" : "") + ")")
          << " |";
      if (!c.paired_valid)
        o << " 0 | – | – | no seed with values on both sides |\n";
      else
        o << " " << c.paired.pairs << " | " << fmt("%g", c.paired.w_plus) << " | " << fmt("%.4g", c.paired.p) << " | "
          << signed_rank_method(c.paired) << " |\n";
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

// ------------------------------------------------------------------ pooling over settings

PooledReport pool_studies(const std::vector<std::string>& settings, const std::vector<StudyReport>& studies) {
  if (studies.empty()) throw std::invalid_argument("pooling needs at least one study folder");
  if (settings.size() != studies.size()) throw std::invalid_argument("pool_studies: one setting name per study");
  PooledReport rep;
  rep.settings = settings;
  rep.studies = studies;
  const StudyReport& first = studies[0];
  rep.metric = first.metric;
  rep.higher_is_better = first.higher_is_better;
  if (first.variants.empty()) throw std::invalid_argument(settings[0] + ": the study has no variants");
  rep.reference = first.variants[0].name;
  auto goal = [](bool higher) { return std::string(higher ? "max" : "min"); };
  for (std::size_t i = 0; i < studies.size(); ++i) {
    const StudyReport& s = studies[i];
    for (std::size_t k = 0; k < i; ++k)
      if (settings[k] == settings[i])
        throw std::invalid_argument(settings[i] + " is given twice; pass each setting's study folder once");
    if (s.metric != rep.metric || s.higher_is_better != rep.higher_is_better)
      throw std::invalid_argument(settings[i] + " compares '" + s.metric + "' (goal " + goal(s.higher_is_better) + ") but " +
                                  settings[0] + " compares '" + rep.metric + "' (goal " + goal(rep.higher_is_better) +
                                  "); pooled tests need one metric and goal: give the study files the same `metric:` and "
                                  "`goal:` and rerun `pbtnas study STUDY --out DIR` (finished runs are skipped; it rewrites "
                                  "DIR/study_runs.tsv), or pool only the studies that agree");
    if (s.variants.empty() || s.variants[0].name != rep.reference)
      throw std::invalid_argument(settings[i] + ": its reference (first variant) is '" +
                                  (s.variants.empty() ? std::string("none") : s.variants[0].name) + "' but " + settings[0] +
                                  "'s is '" + rep.reference + "'; the pooled test pairs one reference across settings: "
                                  "list the same variant first in every study file");
  }
  for (std::size_t vi = 1; vi < first.variants.size(); ++vi) {
    const std::string& name = first.variants[vi].name;
    PooledComparison c;
    c.reference = rep.reference;
    c.other = name;
    std::vector<std::string> absent;
    std::vector<double> x, y;
    for (std::size_t i = 0; i < studies.size(); ++i) {
      const auto& vs = studies[i].variants;
      auto it = std::find_if(vs.begin() + 1, vs.end(), [&](const VariantStats& v) { return v.name == name; });
      if (it == vs.end()) {
        absent.push_back(settings[i]);
        continue;
      }
      std::vector<std::uint64_t> seeds;
      std::vector<double> xi, yi;
      pair_by_seed(vs[0], *it, seeds, xi, yi);
      if (seeds.empty()) rep.notes.push_back(name + ": " + settings[i] + " adds no pair (no seed with values on both sides)");
      for (std::size_t k = 0; k < seeds.size(); ++k) {
        c.pairs.push_back({settings[i], seeds[k], xi[k], yi[k]});
        x.push_back(xi[k]);
        y.push_back(yi[k]);
      }
    }
    if (!absent.empty()) {
      std::string list;
      for (const auto& a : absent) list += (list.empty() ? "" : ", ") + a;
      rep.notes.push_back(name + " is left out: it is not a variant of " + list + " (a pooled test needs it in every setting)");
      continue;
    }
    if (!x.empty()) {
      c.test = signed_rank_test(x, y, better_alternative(rep.higher_is_better));
      c.valid = true;
    }
    rep.comparisons.push_back(std::move(c));
  }
  for (std::size_t i = 1; i < studies.size(); ++i)
    for (std::size_t vi = 1; vi < studies[i].variants.size(); ++vi) {
      const std::string& name = studies[i].variants[vi].name;
      const auto& fv = first.variants;
      if (std::none_of(fv.begin(), fv.end(), [&](const VariantStats& v) { return v.name == name; }))
        rep.notes.push_back(name + " (" + settings[i] + ") is left out: it is not a variant of " + settings[0]);
    }
  return rep;
}

std::string pooled_markdown(const PooledReport& rep) {
  auto num = [](double v) { return std::isfinite(v) ? fmt("%.4g", v) : std::string("–"); };
  auto pm = [&](double m, double s) { return std::isfinite(m) ? num(m) + " ± " + num(s) : std::string("–"); };
  const Alternative alt = better_alternative(rep.higher_is_better);
  std::ostringstream o;
  o << "# Pooled study over " << rep.settings.size() << (rep.settings.size() == 1 ? " setting" : " settings") << "\n\n";
  o << "Settings (study folders): ";
  for (std::size_t i = 0; i < rep.settings.size(); ++i) o << (i ? ", " : "") << "`" << rep.settings[i] << "`";
  o << ". " << metric_sentence(rep.metric, rep.higher_is_better) << "\n\n";
  o << "## Per setting\n\nMean ± population standard deviation over the seeds that count (n).\n\n";
  o << "| setting | variant | n | " << rep.metric << " mean ± std |\n|---|---|---|---|\n";
  for (std::size_t i = 0; i < rep.studies.size(); ++i)
    for (const auto& v : rep.studies[i].variants)
      o << "| " << rep.settings[i] << " | " << v.name << " | " << v.values.size() << " | " << pm(v.mean, v.std) << " |\n";
  o << "\n## " << rep.reference << " against the other variants, pooled over the settings\n\n";
  o << "The pairs are (the reference's value, the other's value) of each setting and each seed that both "
       "have, as the paper pairs them; one test over all pairs of all settings. "
    << signed_rank_note(rep.higher_is_better) << "\n\n";
  o << "| reference | other | pairs | zeros | W+ | W− | p (" << alternative_name(alt) << ") | method |\n";
  o << "|---|---|---|---|---|---|---|---|\n";
  for (const auto& c : rep.comparisons) {
    o << "| " << c.reference << " | " << c.other << " | " << c.pairs.size() << " | ";
    if (!c.valid) {
      o << "– | – | – | – | no pairs |\n";
      continue;
    }
    o << c.test.zeros << " | " << fmt("%g", c.test.w_plus) << " | " << fmt("%g", c.test.w_minus) << " | "
      << fmt("%.4g", c.test.p) << " | " << signed_rank_method(c.test) << " |\n";
  }
  bool any_pair = false;
  for (const auto& c : rep.comparisons) any_pair = any_pair || !c.pairs.empty();
  if (any_pair) {
    o << "\n## The pairs\n\n| other | setting | seed | " << rep.reference << " | other | reference − other |\n";
    o << "|---|---|---|---|---|---|\n";
    for (const auto& c : rep.comparisons)
      for (const auto& p : c.pairs)
        o << "| " << c.other << " | " << p.setting << " | " << p.seed << " | " << fmt("%.6g", p.reference) << " | "
          << fmt("%.6g", p.other) << " | " << fmt("%.6g", p.reference - p.other) << " |\n";
  }
  if (!rep.notes.empty()) {
    o << "\n## Notes\n\n";
    for (const auto& n : rep.notes) o << "* " << n << "\n";
  }
  bool missing = false;
  for (const auto& s : rep.studies) missing = missing || !s.missing.empty();
  if (missing) {
    o << "\n## Runs that do not count\n\n";
    for (std::size_t i = 0; i < rep.studies.size(); ++i)
      for (const auto& m : rep.studies[i].missing) o << "* " << rep.settings[i] << ": " << m << "\n";
  }
  return o.str();
}

}  // namespace pbtnas
