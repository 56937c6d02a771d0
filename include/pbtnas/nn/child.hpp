#pragma once
// Building a child's exported state from its parents (docs/algorithm.md: "Building a child's
// weights", "SEARL-like mutation baseline", Q1, Q2, Q4).
//
// Groups of an exported member state (see member.hpp): "model.*", "average.*" (EMA generator or
// critic target) and "optim.*". A tensor "model.X" / "average.X" belongs to a swapped gene when
// X lies under one of the gene's module prefixes (exact dotted prefix, SearchSpace::owns).
#include <vector>

#include "pbtnas/nn/member.hpp"
#include "pbtnas/nn/named_state.hpp"
#include "pbtnas/nn/shrink_perturb.hpp"
#include "pbtnas/core/plan.hpp"
#include "pbtnas/core/search_space.hpp"

namespace pbtnas {

// The "model." and "average." entries of `full` (parent2's exported state) whose name, with the
// group prefix stripped, is owned by one of `swapped_genes`, followed by the "extra." entries
// whose rule (extras) is Donor; in `full`'s order. This is what parent2's owner sends for a Mix
// child. The tensors are shared with `full`, not copied.
NamedState donor_tensors(const SearchSpace& space, const std::vector<int>& swapped_genes,
                         const NamedState& full, const std::vector<ExtraState>& extras = {});
// Whether a Mix child needs the donor's payload even without swapped genes (a Donor extra).
bool donor_extras(const std::vector<ExtraState>& extras);

// The child's state, ready for import_member_state into a member with plan.genome.
//   parent1: parent1's full exported state (model, average, optimizers).
//   donor:   donor_tensors(space, plan.swapped_genes, parent2's state) for Mix; may be empty
//            for the other kinds.
//   fresh:   the export of a freshly initialised member with the child's genome (seeded with
//            plan.fresh_seed); its "optim." entries are ignored.
// Mix and ArchMutation: in fresh's order, every "model.X" / "average.X" is
//   X owned by a swapped gene, Mix:          model   -> shrink_perturb(donor, fresh, sp)
//                                            average -> donor's tensor, exactly (no SP)
//   X owned by a swapped gene, ArchMutation: model and average -> fresh's tensor
//   otherwise:                               parent1's tensor, exactly
// followed by all of parent1's "optim." entries unchanged (import applies the rule of
// docs/algorithm.md, "Optimizer state of a child"), followed by the extra state: for each
// "extra." entry, by its rule (extra_rule): Mix children take parent1's, the donor's or fresh's
// entries; other children take parent1's unless the rule is Fresh.
// Clone and WeightMutation: a copy of parent1 (swapped_genes must be empty; the caller applies
// mutate_weights afterwards for WeightMutation).
// Every output tensor is a fresh copy. Throws std::runtime_error naming the tensor, the slot and
// the parents when a needed tensor is missing, has another shape or dtype, when a donor tensor or
// an unswapped parent1 tensor has no place in the child, or for ChildKind::Initial.
NamedState assemble_child(const SearchSpace& space, const ChildPlan& plan,
                          const NamedState& parent1, const NamedState& donor,
                          const NamedState& fresh, const ShrinkPerturb& sp,
                          const std::vector<ExtraState>& extras = {});

}  // namespace pbtnas
