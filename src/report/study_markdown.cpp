// The study reports as Markdown (study.md, pooled.md; docs/study.md): presentation of the
// statistics that core/study.hpp computes (summarize_study, pool_studies).
#include "pbtnas/report/study_markdown.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>

namespace pbtnas {
namespace {

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
