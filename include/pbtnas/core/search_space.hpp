#pragma once
// A fixed macro-structure search space: an ordered list of genes, each a layer position with
// interchangeable options. A gene owns the tensors under its module prefixes (exact dotted
// prefix match: "cells.1" owns "cells.1.conv.weight" but not "cells.10.conv.weight").
#include <cstddef>
#include <string>
#include <vector>

namespace pbtnas {

struct Gene {
  std::string name;                   // unique, e.g. "cell3.op"
  std::vector<std::string> options;   // option names, >= 1
  std::vector<std::string> prefixes;  // module prefixes whose tensors belong to this gene
  bool weightless = false;            // true: changes the architecture but owns no tensors
};

using Genome = std::vector<int>;  // one option index per gene

// A numeric gene (a hyperparameter gene, core/hyper_genes.hpp): weightless, its options are the
// values of a grid, written as text (option names) and kept as numbers (SearchSpace::values).
struct NumericGene {
  std::string name;
  std::vector<double> values;  // ascending, >= 2
};

class SearchSpace {
 public:
  SearchSpace() = default;
  // Validates: >= 1 gene, unique non-empty names, >= 1 option per gene, unique options,
  // weightless genes have no prefixes and weighted genes have >= 1. Throws std::invalid_argument
  // naming the gene and the fix.
  SearchSpace(std::string name, std::vector<Gene> genes);
  // The same, with numeric genes appended after `genes` (weightless genes whose options are
  // their values); throws as above, and for a grid that is not strictly ascending.
  SearchSpace(std::string name, std::vector<Gene> genes, const std::vector<NumericGene>& numeric);

  const std::string& name() const { return name_; }
  std::size_t size() const { return genes_.size(); }
  const Gene& gene(std::size_t g) const { return genes_.at(g); }
  const std::vector<Gene>& genes() const { return genes_; }
  int index_of(const std::string& gene_name) const;  // throws if unknown
  // Genes before the numeric ones: the architecture (all genes when there is no numeric gene).
  std::size_t architecture_size() const { return genes_.size() - numeric_values_.size(); }
  bool numeric(std::size_t g) const { return g >= architecture_size() && g < genes_.size(); }
  // The grid of numeric gene g (throws std::out_of_range for an architecture gene).
  const std::vector<double>& values(std::size_t g) const { return numeric_values_.at(g - architecture_size()); }

  // True when `tensor_name` lies under one of gene g's prefixes (exact dotted prefix).
  bool owns(std::size_t g, const std::string& tensor_name) const;
  // True when the tensor lies under a prefix of any of the listed genes.
  bool owned_by_any(const std::vector<int>& genes, const std::string& tensor_name) const;

  // Throws std::invalid_argument when the genome has the wrong length or an option out of range.
  void validate(const Genome& genome) const;
  // "gene=option, ..." for logs and `inspect`.
  std::string describe(const Genome& genome) const;
  std::vector<std::string> option_names(const Genome& genome) const;
  double log10_cardinality() const;

 private:
  std::string name_;
  std::vector<Gene> genes_;
  std::vector<std::vector<double>> numeric_values_;  // the grids of the last genes
};

// True when `name` equals `prefix` or starts with `prefix + "."`.
bool has_module_prefix(const std::string& name, const std::string& prefix);

}  // namespace pbtnas
