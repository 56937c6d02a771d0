#pragma once
// Hyperparameter genes (docs/algorithm.md, "Beyond the paper: hyperparameter genes"): numeric
// genes appended to a task's architecture genes, declared in the config (`hyperparameters:`),
// each a grid of values over [min, max] on a log or linear scale. They are weightless genes of
// the search space, so they are drawn, mixed, stored and resumed like categorical genes; the
// `mutation` algorithm also explores them the PBT way (perturb by a factor, or resample).
#include <optional>
#include <string>
#include <vector>

#include "pbtnas/core/search_space.hpp"
#include "pbtnas/core/seed.hpp"

namespace pbtnas {

class ConfigSection;

// Gene names of hyperparameter genes: this prefix and the hyperparameter's name ("hyper.lr").
inline constexpr const char* kHyperGenePrefix = "hyper.";

// One entry of `hyperparameters:`.
struct HyperParameter {
  std::string name;            // as the task names it (TaskEntry::hyperparameter_names)
  double min = 0.0;
  double max = 0.0;
  std::string scale = "log";   // log: geometric grid; linear: evenly spaced grid
  int levels = 0;              // grid points; 0: log: about x1.25 apart, linear: 11
  int resolved_levels() const;
  // The grid: `resolved_levels()` values from min to max, both included, ascending.
  std::vector<double> grid() const;
  // Throws std::invalid_argument naming the key (hyperparameters.NAME.KEY) and the fix.
  void validate() const;
};

// `hyperparameter_mutation:` (algorithm mutation only): each hyperparameter gene of every child is
// resampled uniformly from its grid with `resample_probability`, else moved to the grid value
// nearest to its value times `down` or `up` (each with probability 1/2), at least one level.
struct HyperMutation {
  double resample_probability = 0.25;
  double down = 0.8;
  double up = 1.25;
  void validate() const;
};

// Reads `hyperparameters` and `hyperparameter_mutation` from the config's root mapping, sorted by
// name (the gene order does not depend on the order of the file's keys). Records their effective
// values only when `hyperparameters` is given, so a config without it reads as before.
void parse_hyperparameters(ConfigSection& root, std::vector<HyperParameter>& out, HyperMutation& mutation);

// Throws std::invalid_argument when a name is not one of `supported` (with a did-you-mean hint
// and the list), naming the task.
void check_hyperparameter_names(const std::vector<HyperParameter>& hyper, const std::vector<std::string>& supported,
                                const std::string& task);

// `arch` with one numeric gene per hyperparameter appended ("hyper.NAME"); `arch` itself when
// `hyper` is empty.
SearchSpace with_hyper_genes(const SearchSpace& arch, const std::vector<HyperParameter>& hyper);

// The value of hyperparameter `name` in `genome`; empty when the space has no such gene.
std::optional<double> hyper_value(const SearchSpace& space, const Genome& genome, const std::string& name);

// The architecture part of a genome (the genes before the numeric ones).
Genome architecture_genome(const SearchSpace& space, const Genome& genome);

// The level whose value is nearest to grid[level] * factor (in log space on a log scale, else
// linearly), moved at least one level in the factor's direction, within the grid.
int perturbed_level(const std::vector<double>& grid, int level, double factor, bool log_scale);

// PBT's explore step on the gene of every hyperparameter of `hyper` (in their order) in `genome`,
// drawing from `rng`; returns the genes whose level changed (ascending).
std::vector<int> explore_hyper_genes(const SearchSpace& space, Genome& genome,
                                     const std::vector<HyperParameter>& hyper, const HyperMutation& mutation, Rng& rng);

}  // namespace pbtnas
