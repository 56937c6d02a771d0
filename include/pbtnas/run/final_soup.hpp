#pragma once
// The greedy model soup of one committed generation of a run (docs/algorithm.md, "Model
// soups"): the members sharing the best member's architecture, averaged greedily from the best
// member, each trial scored by the task's fitness with one seed. Used by the run's final
// evaluation (`final_soup: true`, on rank 1) and by `pbtnas soup OUT`; both give the same soup.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "pbtnas/core/config.hpp"
#include "pbtnas/nn/soup.hpp"
#include "pbtnas/tasks/task.hpp"

namespace pbtnas {

struct FinalSoup {
  std::int64_t generation = -1;
  bool finished = false;             // the generation is the run's last
  int best_member = -1;              // by the search's fitness in that generation
  std::vector<int> candidates;       // sharing its genome, finite fitness, best first
  double best_fitness_search = 0.0;  // as scored in the search
  std::string fitness_name;
  double best_fitness = 0.0;         // the best member alone, re-measured with the soup's seed
  GreedySoup soup;
  // Task::final_metrics of the best member and of the soup, when the soup holds more than it.
  std::vector<Metric> best_final, soup_final;
  std::string file;                  // OUT/soup.h5 when written, else ""
};

// Reads generation `generation` of the run in `out` (its index and member files), builds the
// soup on `device`, and writes OUT/soup.h5 (the soup's weights as a member file) when the soup
// holds more than the best member. Throws std::runtime_error naming the file on bad input.
FinalSoup make_final_soup(const std::string& out, std::int64_t generation, const RunConfig& cfg, const Task& task,
                          torch::Device device);

// OUT/soup.json: the soup's members, each trial's fitness and, when measured, the final metrics.
std::string soup_json(const FinalSoup& soup);

}  // namespace pbtnas
