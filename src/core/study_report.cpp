// Study statistics (mean, population std, the rank-sum and signed-rank tests, pooling): the
// numbers `pbtnas study-report` writes (docs/study.md); their Markdown is report/study_markdown.hpp.
#include "pbtnas/core/study.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>

namespace pbtnas {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

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

}  // namespace pbtnas
