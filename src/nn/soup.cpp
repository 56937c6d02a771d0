#include "pbtnas/nn/soup.hpp"

#include <stdexcept>

#include <c10/util/Exception.h>

namespace pbtnas {
namespace {

bool in_groups(const std::string& name, const std::vector<std::string>& groups) {
  for (const auto& g : groups)
    if (name.rfind(g, 0) == 0) return true;
  return false;
}

bool ends_with(const std::string& s, const char* suffix) {
  const std::string x(suffix);
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

}  // namespace

NamedState average_states(const std::vector<const NamedState*>& states, const std::vector<std::string>& groups) {
  if (states.empty() || !states[0]) throw std::invalid_argument("average_states: no states to average");
  const NamedState& first = *states[0];
  NamedState out;
  out.reserve(first.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    const NamedTensor& nt = first[i];
    for (const NamedState* s : states) {
      if (s->size() != first.size() || (*s)[i].name != nt.name || !(*s)[i].tensor.sizes().equals(nt.tensor.sizes()) ||
          (*s)[i].tensor.scalar_type() != nt.tensor.scalar_type())
        throw std::invalid_argument("average_states: the states differ at tensor " + nt.name +
                                    "; a soup needs members of one architecture");
    }
    const bool keep_first = !in_groups(nt.name, groups) || ends_with(nt.name, "_u") || ends_with(nt.name, "_v") ||
                            nt.tensor.scalar_type() == torch::kBool;
    if (keep_first || states.size() == 1) {
      out.push_back({nt.name, nt.tensor.clone()});
      continue;
    }
    torch::Tensor sum = torch::zeros_like(nt.tensor, nt.tensor.options().dtype(
                                                         nt.tensor.is_floating_point() ? torch::kFloat64 : torch::kInt64));
    for (const NamedState* s : states) sum += (*s)[i].tensor.to(sum.scalar_type());
    const auto n = static_cast<std::int64_t>(states.size());
    torch::Tensor avg = nt.tensor.is_floating_point() ? sum / static_cast<double>(n) : sum.div(n, "floor");
    out.push_back({nt.name, avg.to(nt.tensor.scalar_type())});
  }
  return out;
}

GreedySoup greedy_soup(const std::vector<int>& candidates, double start_fitness,
                       const std::function<double(const std::vector<int>&)>& evaluate) {
  GreedySoup soup;
  if (candidates.empty()) throw std::invalid_argument("greedy_soup: no candidates");
  soup.members = {candidates[0]};
  soup.fitness = start_fitness;
  for (std::size_t i = 1; i < candidates.size(); ++i) {
    std::vector<int> trial = soup.members;
    trial.push_back(candidates[i]);
    const double f = evaluate(trial);
    soup.tried.push_back(f);
    if (f > soup.fitness) {  // NaN never wins
      soup.members = std::move(trial);
      soup.fitness = f;
    }
  }
  return soup;
}

}  // namespace pbtnas
