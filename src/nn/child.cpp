#include "pbtnas/nn/child.hpp"

#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace pbtnas {
namespace {

const std::string kModel = "model.";
const std::string kAverage = "average.";
const std::string kOptim = "optim.";
const std::string kExtra = "extra.";

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

// The group prefix ("model." / "average.") of a weight entry; empty for any other entry.
const std::string& weight_group(const std::string& name) {
  static const std::string none;
  if (starts_with(name, kModel)) return kModel;
  if (starts_with(name, kAverage)) return kAverage;
  return none;
}

torch::Tensor copy_of(const torch::Tensor& t) {
  return t.detach().clone(torch::MemoryFormat::Contiguous);
}

using Index = std::unordered_map<std::string, const torch::Tensor*>;

Index index_of(const NamedState& s) {
  Index out;
  out.reserve(s.size());
  for (const auto& nt : s) out.emplace(nt.name, &nt.tensor);
  return out;
}

const char* kind_name(ChildKind k) {
  switch (k) {
    case ChildKind::Initial: return "initial";
    case ChildKind::Mix: return "mix";
    case ChildKind::Clone: return "clone";
    case ChildKind::WeightMutation: return "weight-mutation";
    case ChildKind::ArchMutation: return "arch-mutation";
  }
  return "unknown";
}

class Assembler {
 public:
  explicit Assembler(const ChildPlan& plan)
      : where_("assemble_child (" + std::string(kind_name(plan.kind)) + " child for slot " +
               std::to_string(plan.slot) + ", parent1 " + std::to_string(plan.parent1) +
               ", parent2 " + std::to_string(plan.parent2) + ")") {}

  [[noreturn]] void fail(const std::string& what) const { throw std::runtime_error(where_ + ": " + what); }

  const torch::Tensor& need(const Index& idx, const std::string& name, const char* source) const {
    const auto it = idx.find(name);
    if (it == idx.end())
      fail("tensor '" + name + "' is missing from " + source +
           "; the states must come from members of the same task with the planned genomes");
    return *it->second;
  }

  void check_like(const torch::Tensor& t, const torch::Tensor& ref, const std::string& name,
                  const char* source) const {
    if (t.sizes() != ref.sizes() || t.scalar_type() != ref.scalar_type())
      fail("tensor '" + name + "' of " + source + " has shape " + c10::str(t.sizes()) + " " +
           std::string(c10::toString(t.scalar_type())) + " but the child's architecture needs " +
           c10::str(ref.sizes()) + " " + std::string(c10::toString(ref.scalar_type())) +
           "; check that the swapped genes cover every layer whose shape changed");
  }

 private:
  std::string where_;
};

}  // namespace

NamedState donor_tensors(const SearchSpace& space, const std::vector<int>& swapped_genes,
                         const NamedState& full, const std::vector<ExtraState>& extras) {
  NamedState out;
  for (const auto& nt : full) {
    if (starts_with(nt.name, kExtra)) {
      if (extra_rule(extras, nt.name) == ExtraInherit::Donor) out.push_back(nt);
      continue;
    }
    const std::string& group = weight_group(nt.name);
    if (group.empty() || swapped_genes.empty()) continue;
    if (space.owned_by_any(swapped_genes, nt.name.substr(group.size()))) out.push_back(nt);
  }
  return out;
}

bool donor_extras(const std::vector<ExtraState>& extras) {
  for (const auto& e : extras)
    if (e.on_mix == ExtraInherit::Donor) return true;
  return false;
}

namespace {

// Appends the child's extra state by the rules (see child.hpp).
void append_extras(const ChildPlan& plan, const NamedState& parent1, const NamedState& donor,
                   const NamedState& fresh, const std::vector<ExtraState>& extras, NamedState& out,
                   const Assembler& a) {
  const bool mix = plan.kind == ChildKind::Mix;
  // Where an entry comes from: Fresh always from fresh, Donor from the donor for Mix children,
  // everything else from parent1.
  auto source = [&](const std::string& name) -> const NamedState& {
    const ExtraInherit rule = extra_rule(extras, name);
    if (rule == ExtraInherit::Fresh) return fresh;
    return mix && rule == ExtraInherit::Donor ? donor : parent1;
  };
  std::unordered_set<std::string> done;
  for (const NamedState* from : {&parent1, &donor, &fresh})
    for (const auto& nt : *from)
      if (starts_with(nt.name, kExtra) && &source(nt.name) == from && done.insert(nt.name).second)
        out.push_back({nt.name, copy_of(nt.tensor)});
  // A Donor extra that parent1 holds must arrive from the donor too.
  for (const auto& nt : parent1)
    if (starts_with(nt.name, kExtra) && !done.count(nt.name) && &source(nt.name) == &donor)
      a.fail("extra state '" + nt.name + "' must come from the donor (rule Donor) but the donor's payload lacks it");
}

}  // namespace

NamedState assemble_child(const SearchSpace& space, const ChildPlan& plan, const NamedState& parent1,
                          const NamedState& donor, const NamedState& fresh, const ShrinkPerturb& sp,
                          const std::vector<ExtraState>& extras) {
  const Assembler a(plan);
  NamedState out;
  if (plan.kind == ChildKind::Initial)
    a.fail("an initial member has no parents; initialise it instead of assembling it");
  if (plan.kind == ChildKind::Clone || plan.kind == ChildKind::WeightMutation) {
    // Only weightless genes (hyperparameter genes the mutation changed) may be listed: no tensor moves.
    for (int g : plan.swapped_genes)
      if (g < 0 || static_cast<std::size_t>(g) >= space.size() || !space.gene(static_cast<std::size_t>(g)).weightless)
        a.fail("a clone or weight-mutation child swaps no layers, but the plan lists gene " + std::to_string(g) +
               ", which is not a weightless gene of search space '" + space.name() + "'; fix the exploit plan");
    out.reserve(parent1.size());
    for (const auto& nt : parent1)
      if (!starts_with(nt.name, kExtra)) out.push_back({nt.name, copy_of(nt.tensor)});
    append_extras(plan, parent1, donor, fresh, extras, out, a);
    return out;
  }
  for (int g : plan.swapped_genes)
    if (g < 0 || static_cast<std::size_t>(g) >= space.size())
      a.fail("swapped gene " + std::to_string(g) + " is out of range for search space '" +
             space.name() + "' (" + std::to_string(space.size()) + " genes)");

  const bool mix = plan.kind == ChildKind::Mix;
  const Index p1 = index_of(parent1);
  const Index dn = index_of(donor);
  std::unordered_set<std::string> placed;
  out.reserve(fresh.size() + parent1.size());

  for (const auto& f : fresh) {
    const std::string& group = weight_group(f.name);
    if (group.empty()) continue;  // fresh optimizer state is never used
    const bool swapped = space.owned_by_any(plan.swapped_genes, f.name.substr(group.size()));
    torch::Tensor t;
    if (swapped && mix) {
      const torch::Tensor& d = a.need(dn, f.name, "parent2's donor tensors");
      a.check_like(d, f.tensor, f.name, "parent2's donor tensors");
      if (group == kModel) {
        try {
          t = shrink_perturb(d, f.tensor, sp);
        } catch (const std::exception& e) {
          a.fail("tensor '" + f.name + "': " + e.what());
        }
      } else {
        t = copy_of(d);  // averaged copy: donor's tensor exactly (docs/algorithm.md, steps 5-6 of
                         // "Building a child's weights")
      }
    } else if (swapped) {
      t = copy_of(f.tensor);  // architecture mutation: fresh initialisation, model and average
    } else {
      const torch::Tensor& p = a.need(p1, f.name, "parent1's state");
      a.check_like(p, f.tensor, f.name, "parent1's state");
      t = copy_of(p);
    }
    placed.insert(f.name);
    out.push_back({f.name, std::move(t)});
  }

  // Consistency: nothing the child should inherit may be left behind.
  if (mix)
    for (const auto& d : donor)
      if (!placed.count(d.name) && !starts_with(d.name, kExtra))
        a.fail("donor tensor '" + d.name + "' has no place in the child's architecture; the donor "
               "tensors must be donor_tensors() of parent2 for exactly the planned swapped genes");
  for (const auto& p : parent1) {
    const std::string& group = weight_group(p.name);
    if (group.empty() || placed.count(p.name)) continue;
    if (!space.owned_by_any(plan.swapped_genes, p.name.substr(group.size())))
      a.fail("parent1's tensor '" + p.name + "' belongs to no swapped gene yet is absent from the "
             "child's fresh network; the fresh state must be built with the child's genome");
  }

  for (const auto& p : parent1)
    if (starts_with(p.name, kOptim)) out.push_back({p.name, copy_of(p.tensor)});
  append_extras(plan, parent1, donor, fresh, extras, out, a);
  return out;
}

}  // namespace pbtnas
