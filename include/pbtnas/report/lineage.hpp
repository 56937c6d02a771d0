#pragma once
// The lineage of a run, from the index's history of incarnations (one entry each time a slot
// received a model): who descended from whom, the ancestry of a member, where each of its genes'
// weights came from, and the Graphviz text of the whole family tree. Pure: no I/O.
//
// An incarnation born by the exploit after generation G (birth_generation = G) trains from
// generation G + 1 on; its parents are the incarnations that trained in generation G in the
// parent slots. Initial models have birth_generation -1 and train from generation 0.
#include <cstdint>
#include <string>
#include <vector>

#include "pbtnas/core/records.hpp"

namespace pbtnas::report {

// The incarnation (index into `history`) that trained in `slot` in generation `generation`: the
// newest one of that slot born before it. -1 when there is none.
std::int64_t incarnation_at(const std::vector<Incarnation>& history, int slot, std::int64_t generation);

// One parent -> child relation.
struct LineageEdge {
  std::int64_t parent = 0, child = 0;  // indices into the history
  bool donor = false;                  // the mix's parent2 (its layers at `genes`), not the base parent1
  ChildKind kind = ChildKind::Mix;     // of the child
  std::int64_t generation = 0;         // the exploit after this generation made the child
  std::vector<int> genes;              // donor: genes taken from it; base: genes changed (mutations)
};
// Every edge: a base edge per non-initial incarnation and a donor edge per mix whose donor is
// another incarnation than its base. Ordered by child, base first.
std::vector<LineageEdge> lineage_edges(const std::vector<Incarnation>& history);

// `inc` and all its ancestors through base and donor edges, ascending.
std::vector<std::int64_t> ancestry(const std::vector<Incarnation>& history, std::int64_t inc);
// `inc` and its base (parent1) ancestors, newest first: the line whose state (optimizer, fitness
// history) the member continues.
std::vector<std::int64_t> base_line(const std::vector<Incarnation>& history, std::int64_t inc);

// How a gene's layer reached one incarnation on its way to the member asked about.
enum class HopKind {
  Initial,    // created with the initial model
  Fresh,      // created by an architecture mutation (new weights)
  Inherited,  // came with the rest of parent1's state (mix base, clone)
  Donated,    // taken from the mix's donor (parent2)
  Mutated,    // parent1's layer with a weight mutation applied (a weight-mutation child: every layer)
};
const char* to_string(HopKind kind);

struct GeneHop {
  std::int64_t incarnation = 0;
  int slot = 0;
  std::int64_t generation = -1;  // birth_generation of the incarnation (-1: initial)
  HopKind how = HopKind::Initial;
};

// Where the weights of `gene` in incarnation `inc` came from: the path oldest first;
// path.front() created them (Initial or Fresh), path.back() is `inc`.
std::vector<GeneHop> gene_path(const std::vector<Incarnation>& history, std::int64_t inc, int gene);

// The family tree as Graphviz text: one node per incarnation (slot, generations it trained,
// its last fitness from `fitness`, one value per incarnation, NaN: unknown), placed in columns
// by birth generation; solid black edges from parent1, dashed blue edges from a mix's donor
// (labelled with the number of genes taken), clones / mutations labelled with their kind. The
// ancestry of `highlight` (-1: none) is filled gold with bold red edges.
// `last_generation` is the newest committed generation (the end of alive incarnations).
std::string lineage_dot(const std::vector<Incarnation>& history, const std::vector<double>& fitness,
                        const std::vector<std::string>& gene_names, std::int64_t highlight,
                        std::int64_t last_generation);

}  // namespace pbtnas::report
