#include "pbtnas/core/study.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "pbtnas/core/config.hpp"
#include "pbtnas/core/config_section.hpp"

namespace pbtnas {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// The overrides of a variant as one line of YAML (flow style).
std::string one_line(const YAML::Node& node) {
  if (!node || node.IsNull() || node.size() == 0) return "{}";
  YAML::Emitter e;
  e.SetMapFormat(YAML::Flow);
  e.SetSeqFormat(YAML::Flow);
  e << node;
  std::string s = e.c_str();
  for (char& c : s)
    if (c == '\n' || c == '\t') c = ' ';
  return s;
}

// Mappings merge key by key (so `gan: {ema_decay: 0.9}` changes one key of the base's gan
// section); anything else replaces the base's value.
void merge_into(YAML::Node base, const YAML::Node& over) {
  for (const auto& kv : over) {
    const std::string key = kv.first.Scalar();
    YAML::Node target = base[key];
    if (kv.second.IsMap() && target && target.IsMap())
      merge_into(target, kv.second);
    else
      base[key] = YAML::Clone(kv.second);
  }
}

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 64 || n[0] == '.' || n[0] == '-') return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// The derived config of one run: the base config with the variant's overrides and the seed.
std::string derive_config(const std::string& base_text, const YAML::Node& overrides, const std::string& variant,
                          std::uint64_t seed) {
  YAML::Node merged = YAML::Clone(YAML::Load(base_text));
  if (!merged || merged.IsNull()) merged = YAML::Node(YAML::NodeType::Map);
  if (overrides && overrides.IsMap()) merge_into(merged, overrides);
  merged["seed"] = seed;
  YAML::Emitter e;
  e << merged;
  // No paths in the text: a resume compares the whole text, and the study may be started from
  // another folder next time.
  return "# Written by pbtnas study: variant '" + variant + "', seed " + std::to_string(seed) +
         " (the base config with the variant's set: keys).\n# Do not edit: resuming this run needs the same text.\n" +
         std::string(e.c_str()) + "\n";
}

}  // namespace

// ------------------------------------------------------------------ the study file

std::string resolve_study_base(const std::string& study_text, const std::string& study_path) {
  ConfigSection s = ConfigSection::root(study_text, study_path);
  std::string base;
  s.get("base", base);
  if (base.empty())
    s.fail("base", "is missing; name the base config, relative to the study file (e.g. base: ../configs/smoke_classify.yaml)");
  const std::filesystem::path p(base);
  if (p.is_absolute()) return base;
  const std::filesystem::path dir = std::filesystem::path(study_path).parent_path();
  return (dir / p).lexically_normal().string();
}

Study parse_study(const std::string& study_text, const std::string& study_path, const std::string& base_text) {
  Study st;
  st.path = study_path;
  st.base_path = resolve_study_base(study_text, study_path);
  ConfigSection s = ConfigSection::root(study_text, study_path);
  std::string base, description;
  s.get("base", base);
  s.get("description", description);

  s.get("metric", st.metric);
  if (st.metric.empty()) s.fail("metric", "is empty; use best_ever_fitness or a final metric of the task (gan: fid)");
  std::string goal;
  s.get("goal", goal);
  if (goal.empty()) {
    if (st.metric != "best_ever_fitness")
      s.fail("goal", "is missing; say whether a larger '" + st.metric + "' is better (goal: max) or a smaller one (goal: min)");
    goal = "max";
  }
  if (goal != "max" && goal != "min") s.fail("goal", "= '" + goal + "' is not valid; expected max or min");
  st.higher_is_better = goal == "max";

  YAML::Node seeds = s.raw("seeds");
  if (!seeds || !seeds.IsSequence() || seeds.size() == 0)
    s.fail("seeds", "must be a non-empty list of run seeds (e.g. seeds: [31173, 31174, 31175])");
  std::set<std::uint64_t> seen_seeds;
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    std::uint64_t v = 0;
    bool ok = seeds[i].IsScalar() && !seeds[i].Scalar().empty() && seeds[i].Scalar()[0] != '-';
    try {
      if (ok) v = seeds[i].as<std::uint64_t>();
    } catch (const YAML::Exception&) {
      ok = false;
    }
    if (!ok) s.fail("seeds[" + std::to_string(i) + "]", "= '" + YAML::Dump(seeds[i]) + "' is not an unsigned 64-bit integer");
    if (!seen_seeds.insert(v).second)
      s.fail("seeds[" + std::to_string(i) + "]", "= " + std::to_string(v) + " is listed twice; list every seed once");
    st.seeds.push_back(v);
  }

  YAML::Node variants = s.raw("variants");
  if (!variants || !variants.IsSequence() || variants.size() == 0)
    s.fail("variants", "must be a non-empty list of {name: NAME, set: {KEY: VALUE, ...}}; the first is the reference (PBT-NAS)");
  s.reject_unknown(" (a study file: docs/study.md)");

  // The base config must be valid on its own.
  parse_config(base_text, st.base_path);

  std::vector<YAML::Node> overrides;
  std::set<std::string> names;
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const std::string where = "variants[" + std::to_string(i) + "]";
    ConfigSection v(variants[i], where, study_path);
    if (!variants[i].IsMap()) v.fail(where, "must be a mapping {name: NAME, set: {...}}");
    StudyVariant var;
    v.get("name", var.name);
    if (!valid_name(var.name))
      v.fail(v.key("name"), "= '" + var.name + "' is not a usable name; use 1-64 letters, digits, '_', '-' or '.' "
                            "(it becomes a folder), not starting with '.' or '-'");
    if (!names.insert(var.name).second)
      v.fail(v.key("name"), "= '" + var.name + "' is used by two variants; give every variant its own name");
    YAML::Node set = v.raw("set");
    if (set && !set.IsNull() && !set.IsMap())
      v.fail(v.key("set"), "must be a mapping of config keys to values (e.g. set: {shrink_perturb: [1, 0]})");
    if (set && set.IsMap() && static_cast<const YAML::Node&>(set)["seed"])
      v.fail(v.key("set.seed"), "cannot be set by a variant; the study's seeds list sets every run's seed");
    v.reject_unknown(" (a variant: name and set)");
    var.overrides = one_line(set);
    overrides.push_back(set);
    st.variants.push_back(var);
  }

  for (std::size_t vi = 0; vi < st.variants.size(); ++vi) {
    for (std::size_t si = 0; si < st.seeds.size(); ++si) {
      StudyRun r;
      r.index = static_cast<int>(vi * st.seeds.size() + si);
      r.variant = static_cast<int>(vi);
      r.variant_name = st.variants[vi].name;
      r.seed = st.seeds[si];
      r.dir = r.variant_name + "/seed_" + std::to_string(r.seed);
      r.config_file = r.dir + ".yaml";
      r.config_text = derive_config(base_text, overrides[vi], r.variant_name, r.seed);
      // Every override goes through the config parser: a bad value is refused with its key.
      parse_config(r.config_text, study_path + " (variant '" + r.variant_name + "': the base config " + st.base_path +
                                      " with its set: " + st.variants[vi].overrides + ")");
      st.runs.push_back(std::move(r));
    }
  }
  return st;
}

Study load_study(const std::string& study_path) {
  const std::string text = read_config_file(study_path);
  const std::string base_path = resolve_study_base(text, study_path);
  std::string base_text;
  try {
    base_text = read_config_file(base_path);
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument("study " + study_path + ": the base config '" + base_path +
                                "' cannot be read; 'base' is relative to the study file's folder");
  }
  return parse_study(text, study_path, base_text);
}

// ------------------------------------------------------------------ the plan file

std::string plan_text(const Study& st) {
  std::ostringstream o;
  o << "# pbtnas study plan: written by `pbtnas study`, read by `pbtnas study-report` (tab-separated)\n";
  o << "study\t" << st.path << "\n";
  o << "metric\t" << st.metric << "\n";
  o << "goal\t" << (st.higher_is_better ? "max" : "min") << "\n";
  for (const auto& v : st.variants) o << "variant\t" << v.name << "\t" << v.overrides << "\n";
  for (auto s : st.seeds) o << "seed\t" << s << "\n";
  for (const auto& r : st.runs) o << "run\t" << r.index << "\t" << r.variant_name << "\t" << r.seed << "\t" << r.dir << "\n";
  return o.str();
}

Study parse_plan(const std::string& text, const std::string& origin) {
  Study st;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  bool any = false;
  auto bad = [&](const std::string& why) {
    throw std::invalid_argument("study plan " + origin + ", line " + std::to_string(lineno) + ": " + why +
                                "; it is written by `pbtnas study` (rerun it with --list or on the same --out to rewrite it)");
  };
  std::map<std::string, int> variant_index;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    const auto f = split(line, '\t');
    any = true;
    if (f[0] == "study" && f.size() == 2) {
      st.path = f[1];
    } else if (f[0] == "metric" && f.size() == 2) {
      st.metric = f[1];
    } else if (f[0] == "goal" && f.size() == 2 && (f[1] == "max" || f[1] == "min")) {
      st.higher_is_better = f[1] == "max";
    } else if (f[0] == "variant" && f.size() == 3) {
      variant_index[f[1]] = static_cast<int>(st.variants.size());
      st.variants.push_back({f[1], f[2]});
    } else if (f[0] == "seed" && f.size() == 2) {
      try {
        st.seeds.push_back(std::stoull(f[1]));
      } catch (const std::exception&) {
        bad("'" + f[1] + "' is not a seed");
      }
    } else if (f[0] == "run" && f.size() == 5) {
      StudyRun r;
      try {
        r.index = std::stoi(f[1]);
        r.seed = std::stoull(f[3]);
      } catch (const std::exception&) {
        bad("a run line needs an index and a seed");
      }
      auto it = variant_index.find(f[2]);
      if (it == variant_index.end()) bad("run of an unlisted variant '" + f[2] + "'");
      if (r.index != static_cast<int>(st.runs.size())) bad("runs are not numbered 0, 1, 2, ...");
      r.variant = it->second;
      r.variant_name = f[2];
      r.dir = f[4];
      r.config_file = r.dir + ".yaml";
      st.runs.push_back(r);
    } else {
      bad("unexpected line '" + line + "'");
    }
  }
  if (!any || st.variants.empty() || st.runs.empty()) {
    lineno = 0;
    bad("no variants or runs");
  }
  return st;
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
         "population std over the finished runs (n in brackets when it differs from the seeds that count).\n\n";
    o << "| generation |";
    for (const auto& v : rep.variants) o << " " << v.name << " |";
    o << "\n|---|";
    for (std::size_t i = 0; i < rep.variants.size(); ++i) o << "---|";
    o << "\n";
    for (std::size_t g = 0; g < gens; ++g) {
      o << "| " << g + 1 << " |";
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
