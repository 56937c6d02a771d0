#include "pbtnas/core/hyper_genes.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "pbtnas/core/config_section.hpp"

namespace pbtnas {

namespace {
constexpr int kMaxLevels = 1000;
constexpr double kLogStep = 1.25;  // default spacing of a log grid: neighbours about x1.25 apart
constexpr int kLinearLevels = 11;

std::string key_of(const HyperParameter& h, const char* k) { return "hyperparameters." + h.name + "." + k; }
}  // namespace

int HyperParameter::resolved_levels() const {
  if (levels > 0) return levels;
  if (scale == "linear") return kLinearLevels;
  if (!(min > 0.0 && max > min)) return 2;
  return std::max(2, 1 + static_cast<int>(std::lround(std::log(max / min) / std::log(kLogStep))));
}

std::vector<double> HyperParameter::grid() const {
  const int n = resolved_levels();
  std::vector<double> g(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / static_cast<double>(n - 1);
    g[static_cast<std::size_t>(i)] = scale == "log" ? min * std::pow(max / min, t) : min + (max - min) * t;
  }
  g.front() = min;
  g.back() = max;
  return g;
}

void HyperParameter::validate() const {
  check_choice(key_of(*this, "scale"), scale, {"log", "linear"});
  check_range(key_of(*this, "min"), min, scale == "log" ? 1e-300 : 0.0, 1e12,
              scale == "log" ? "a number > 0 (a log scale needs positive values)" : "a number >= 0");
  if (!(max > min))
    throw std::invalid_argument("'" + key_of(*this, "max") + "' = " + shortest_number(max) +
                                " is not above min = " + shortest_number(min) + "; give a range with max > min");
  check_range(key_of(*this, "max"), max, min, 1e12, "a number above min");
  // Adam's beta1 (the only task hyperparameter with a hard upper bound) must stay below 1.
  if (name == "beta1" && !(max < 1.0))
    throw std::invalid_argument("'" + key_of(*this, "max") + "' = " + shortest_number(max) +
                                " is out of range; Adam's beta1 must stay below 1 (e.g. max: 0.9)");
  check_range(key_of(*this, "levels"), levels, 0, kMaxLevels,
              "0 (log: about x1.25 apart, linear: 11) or 2 to " + std::to_string(kMaxLevels));
  if (levels == 1)
    throw std::invalid_argument("'" + key_of(*this, "levels") + "' = 1 gives a constant; use at least 2 levels, or "
                                "set the task's own key instead of a hyperparameter gene");
  if (resolved_levels() > kMaxLevels)
    throw std::invalid_argument("'" + key_of(*this, "min") + "'/'max' span " + shortest_number(max / min) +
                                "x, which gives more than " + std::to_string(kMaxLevels) +
                                " levels at x1.25; narrow the range or set levels");
}

void HyperMutation::validate() const {
  check_range("hyperparameter_mutation.resample_probability", resample_probability, 0.0, 1.0,
              "a probability in [0, 1] (PBT: 0.25)");
  check_range("hyperparameter_mutation.perturb_factors[0]", down, 1e-6, 0.999999, "a factor in (0, 1) (PBT: 0.8)");
  check_range("hyperparameter_mutation.perturb_factors[1]", up, 1.000001, 1e6, "a factor above 1 (PBT: 1.25)");
}

void parse_hyperparameters(ConfigSection& s, std::vector<HyperParameter>& out, HyperMutation& m) {
  out.clear();
  const YAML::Node node = s.raw("hyperparameters");
  const bool given = node && !node.IsNull();
  if (given && !node.IsMap())
    s.fail("hyperparameters", "must be a mapping NAME: {min: A, max: B, scale: log|linear, levels: K} "
                              "(see docs/config.md, \"Hyperparameter genes\")");
  ConfigSection hs = s.sub("hyperparameters");
  if (given)
    for (const auto& kv : node) {
      HyperParameter h;
      h.name = kv.first.as<std::string>();
      if (!kv.second.IsMap())
        hs.fail(hs.key(h.name), "must be a mapping {min: A, max: B, scale: log|linear, levels: K}");
      ConfigSection e = hs.sub(h.name);
      if (!e.has("min") || !e.has("max"))
        hs.fail(hs.key(h.name), "needs both min and max (e.g. {min: 1e-4, max: 1e-2, scale: log})");
      e.get("min", h.min);
      e.get("max", h.max);
      e.get("scale", h.scale);
      e.get("levels", h.levels);
      e.reject_unknown();
      out.push_back(std::move(h));
    }
  std::sort(out.begin(), out.end(), [](const HyperParameter& a, const HyperParameter& b) { return a.name < b.name; });
  const YAML::Node mut = s.raw("hyperparameter_mutation");
  if (mut && out.empty())
    s.fail("hyperparameter_mutation", "is given but no hyperparameters are; declare hyperparameters: or remove it");
  if (out.empty()) return;
  ConfigSection ms = s.sub("hyperparameter_mutation");
  ms.get("resample_probability", m.resample_probability);
  if (mut && mut.IsMap() && mut["perturb_factors"]) {
    const YAML::Node f = mut["perturb_factors"];
    const std::string what = "must be a list of two numbers [down, up] (PBT: [0.8, 1.25])";
    if (!f.IsSequence() || f.size() != 2) ms.fail(ms.key("perturb_factors"), what);
    try {
      m.down = f[0].as<double>();
      m.up = f[1].as<double>();
    } catch (const YAML::Exception&) {
      ms.fail(ms.key("perturb_factors"), what);
    }
  }
  (void)ms.raw("perturb_factors");
  ms.note_text("perturb_factors", "[" + shortest_number(m.down) + ", " + shortest_number(m.up) + "]", false);
  ms.reject_unknown();
}

void check_hyperparameter_names(const std::vector<HyperParameter>& hyper, const std::vector<std::string>& supported,
                                const std::string& task) {
  std::string list;
  for (const auto& n : supported) list += (list.empty() ? "" : ", ") + n;
  for (const HyperParameter& h : hyper) {
    if (std::find(supported.begin(), supported.end(), h.name) != supported.end()) continue;
    const std::string near = closest_key(h.name, supported);
    throw std::invalid_argument("'hyperparameters." + h.name + "' is not a hyperparameter of task '" + task + "'" +
                                (near.empty() ? std::string() : " (did you mean '" + near + "'?)") +
                                "; the task's hyperparameters: " + (list.empty() ? "none" : list) +
                                " (see docs/config.md, \"Hyperparameter genes\")");
  }
}

SearchSpace with_hyper_genes(const SearchSpace& arch, const std::vector<HyperParameter>& hyper) {
  if (hyper.empty()) return arch;
  std::vector<NumericGene> numeric;
  for (const HyperParameter& h : hyper) numeric.push_back({kHyperGenePrefix + h.name, h.grid()});
  std::vector<Gene> genes(arch.genes().begin(), arch.genes().begin() + static_cast<std::ptrdiff_t>(arch.architecture_size()));
  return SearchSpace(arch.name(), std::move(genes), numeric);
}

std::optional<double> hyper_value(const SearchSpace& space, const Genome& genome, const std::string& name) {
  const std::string gene = kHyperGenePrefix + name;
  for (std::size_t g = space.architecture_size(); g < space.size(); ++g)
    if (space.gene(g).name == gene) return space.values(g).at(static_cast<std::size_t>(genome.at(g)));
  return std::nullopt;
}

Genome architecture_genome(const SearchSpace& space, const Genome& genome) {
  const std::size_t n = std::min(space.architecture_size(), genome.size());
  return Genome(genome.begin(), genome.begin() + static_cast<std::ptrdiff_t>(n));
}

int perturbed_level(const std::vector<double>& grid, int level, double factor, bool log_scale) {
  const int n = static_cast<int>(grid.size());
  const double target = grid.at(static_cast<std::size_t>(level)) * factor;
  auto distance = [&](int i) {
    const double v = grid[static_cast<std::size_t>(i)];
    return log_scale ? std::fabs(std::log(v) - std::log(target)) : std::fabs(v - target);
  };
  int best = level;
  for (int i = 0; i < n; ++i)
    if (distance(i) < distance(best)) best = i;
  if (best == level) best += factor > 1.0 ? 1 : -1;  // a perturbation always moves
  return std::clamp(best, 0, n - 1);
}

std::vector<int> explore_hyper_genes(const SearchSpace& space, Genome& genome,
                                     const std::vector<HyperParameter>& hyper, const HyperMutation& m, Rng& rng) {
  std::vector<int> changed;
  for (const HyperParameter& h : hyper) {
    const int g = space.index_of(kHyperGenePrefix + h.name);
    const std::vector<double>& grid = space.values(static_cast<std::size_t>(g));
    const int before = genome.at(static_cast<std::size_t>(g));
    int after;
    if (rng.uniform() < m.resample_probability) {
      after = static_cast<int>(rng.below(grid.size()));
    } else {
      const double factor = rng.uniform() < 0.5 ? m.down : m.up;
      after = perturbed_level(grid, before, factor, h.scale == "log");
    }
    genome[static_cast<std::size_t>(g)] = after;
    if (after != before) changed.push_back(g);
  }
  std::sort(changed.begin(), changed.end());
  return changed;
}

}  // namespace pbtnas
