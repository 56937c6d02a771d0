#include "pbtnas/core/search_space.hpp"

#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>
#include <stdexcept>

namespace pbtnas {

bool has_module_prefix(const std::string& name, const std::string& prefix) {
  if (prefix.empty()) return false;
  if (name.size() < prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return false;
  return name.size() == prefix.size() || name[prefix.size()] == '.';
}

SearchSpace::SearchSpace(std::string name, std::vector<Gene> genes)
    : name_(std::move(name)), genes_(std::move(genes)) {
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument("search space '" + name_ + "': " + what);
  };
  if (genes_.empty()) fail("has no genes; define at least one gene");
  std::set<std::string> names;
  for (std::size_t g = 0; g < genes_.size(); ++g) {
    const Gene& gene = genes_[g];
    const std::string where = "gene " + std::to_string(g) + " ('" + gene.name + "')";
    if (gene.name.empty()) fail("gene " + std::to_string(g) + " has an empty name; give every gene a unique name");
    if (!names.insert(gene.name).second) fail(where + " is defined twice; gene names must be unique");
    if (gene.options.empty()) fail(where + " has no options; give it at least one");
    std::set<std::string> opts(gene.options.begin(), gene.options.end());
    if (opts.size() != gene.options.size()) fail(where + " lists an option twice; options must be unique");
    if (gene.weightless && !gene.prefixes.empty())
      fail(where + " is weightless but owns module prefixes; drop the prefixes or the weightless flag");
    if (!gene.weightless && gene.prefixes.empty())
      fail(where + " owns no module prefix; list the module(s) its layer lives under, or mark it weightless");
    for (const auto& p : gene.prefixes)
      if (p.empty() || p.front() == '.' || p.back() == '.')
        fail(where + " has module prefix '" + p + "'; prefixes are dotted module names such as 'cells.3'");
  }
}

SearchSpace::SearchSpace(std::string name, std::vector<Gene> genes, const std::vector<NumericGene>& numeric)
    : SearchSpace(std::move(name), [&] {
        for (const NumericGene& n : numeric) {
          Gene g;
          g.name = n.name;
          g.weightless = true;
          char buf[32];
          for (double v : n.values) {
            std::snprintf(buf, sizeof buf, "%.6g", v);
            g.options.push_back(buf);
          }
          genes.push_back(std::move(g));
        }
        return std::move(genes);
      }()) {
  for (const NumericGene& n : numeric) {
    if (n.values.size() < 2)
      throw std::invalid_argument("search space '" + name_ + "': numeric gene '" + n.name +
                                  "' has fewer than 2 values; give its range at least 2 levels");
    for (std::size_t i = 1; i < n.values.size(); ++i)
      if (!(n.values[i] > n.values[i - 1]))
        throw std::invalid_argument("search space '" + name_ + "': the values of numeric gene '" + n.name +
                                    "' are not strictly ascending; widen its range or use fewer levels");
    numeric_values_.push_back(n.values);
  }
}

int SearchSpace::index_of(const std::string& gene_name) const {
  for (std::size_t g = 0; g < genes_.size(); ++g)
    if (genes_[g].name == gene_name) return static_cast<int>(g);
  throw std::invalid_argument("search space '" + name_ + "' has no gene '" + gene_name + "'");
}

bool SearchSpace::owns(std::size_t g, const std::string& tensor_name) const {
  for (const auto& p : genes_.at(g).prefixes)
    if (has_module_prefix(tensor_name, p)) return true;
  return false;
}

bool SearchSpace::owned_by_any(const std::vector<int>& genes, const std::string& tensor_name) const {
  for (int g : genes)
    if (owns(static_cast<std::size_t>(g), tensor_name)) return true;
  return false;
}

void SearchSpace::validate(const Genome& genome) const {
  if (genome.size() != genes_.size())
    throw std::invalid_argument("genome has " + std::to_string(genome.size()) + " genes but search space '" +
                                name_ + "' has " + std::to_string(genes_.size()));
  for (std::size_t g = 0; g < genome.size(); ++g)
    if (genome[g] < 0 || genome[g] >= static_cast<int>(genes_[g].options.size()))
      throw std::invalid_argument("genome: gene " + std::to_string(g) + " ('" + genes_[g].name + "') has option " +
                                  std::to_string(genome[g]) + "; valid options are 0.." +
                                  std::to_string(genes_[g].options.size() - 1));
}

std::vector<std::string> SearchSpace::option_names(const Genome& genome) const {
  validate(genome);
  std::vector<std::string> out;
  out.reserve(genome.size());
  for (std::size_t g = 0; g < genome.size(); ++g) out.push_back(genes_[g].options[genome[g]]);
  return out;
}

std::string SearchSpace::describe(const Genome& genome) const {
  const auto names = option_names(genome);
  std::ostringstream os;
  for (std::size_t g = 0; g < names.size(); ++g) os << (g ? " " : "") << genes_[g].name << '=' << names[g];
  return os.str();
}

double SearchSpace::log10_cardinality() const {
  double s = 0.0;
  for (const auto& g : genes_) s += std::log10(static_cast<double>(g.options.size()));
  return s;
}

}  // namespace pbtnas
