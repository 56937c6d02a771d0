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
  if (st.metric.empty()) s.fail("metric", "is empty; use best_ever_fitness, best_last_fitness or a final metric of the task (gan: fid)");
  std::string goal;
  s.get("goal", goal);
  if (goal.empty()) {
    if (!is_fitness_metric(st.metric))
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

}  // namespace pbtnas
