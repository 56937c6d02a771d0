// Member state beyond tensors of the networks (Member::extra): export/import, and how a child
// obtains it at an exploit by the rule its task declares (ExtraInherit).
#include <catch2/catch.hpp>

#include "pbtnas/nn/child.hpp"
#include "pbtnas/nn/member.hpp"
#include "support/seed.hpp"
#include "support/toy_model.hpp"

using namespace pbtnas;
using pbtnas::test::make_toy_member;
using pbtnas::test::test_seed;
using pbtnas::test::toy_genome;
using pbtnas::test::toy_space;

namespace {

const std::vector<ExtraState> kExtras{
    {"buffer", ExtraInherit::Donor}, {"stats", ExtraInherit::Parent1}, {"scratch", ExtraInherit::Fresh}};

// A toy member whose extras are filled with `tag` (buffer: 5 x 3 floats, stats: 2 int64,
// scratch: 1 float), so that the origin of each entry is visible.
Member member_with_extras(const Genome& g, std::uint64_t seed, float tag) {
  Member m = make_toy_member(g, seed);
  m.extra.push_back({"buffer.obs", torch::full({5, 3}, tag)});
  m.extra.push_back({"buffer.size", torch::scalar_tensor(static_cast<std::int64_t>(tag), torch::kLong)});
  m.extra.push_back({"stats.count", torch::full({2}, static_cast<std::int64_t>(tag), torch::kLong)});
  m.extra.push_back({"scratch", torch::full({1}, tag)});
  return m;
}

float tag_of(const NamedState& s, const std::string& name) {
  const torch::Tensor* t = find_tensor(s, name);
  if (t == nullptr) FAIL("missing " << name);
  return t->to(torch::kFloat32).flatten()[0].item<float>();
}

}  // namespace

TEST_CASE("extra state is exported as extra.* and imported back exactly") {
  Member m = member_with_extras(toy_genome(0), test_seed(), 7.0f);
  const NamedState s = export_member_state(m);
  CHECK(tag_of(s, "extra.buffer.obs") == 7.0f);
  CHECK(find_tensor(s, "extra.buffer.size")->scalar_type() == torch::kLong);
  CHECK(s.back().name == "extra.scratch");
  Member fresh = make_toy_member(toy_genome(0), test_seed() + 1);
  import_member_state(fresh, s);
  REQUIRE(fresh.extra.size() == 4);
  CHECK(fresh.extra[0].name == "buffer.obs");
  CHECK(torch::equal(fresh.extra[0].tensor, m.extra[0].tensor));
  CHECK(torch::equal(fresh.extra[2].tensor, m.extra[2].tensor));
  CHECK(extra_rule(kExtras, "extra.buffer.obs") == ExtraInherit::Donor);
  CHECK(extra_rule(kExtras, "extra.bufferx") == ExtraInherit::Parent1);  // exact dotted prefix only
  CHECK(extra_rule(kExtras, "extra.scratch") == ExtraInherit::Fresh);
}

TEST_CASE("a mixed child takes each extra state by its rule and a clone takes parent1's") {
  const SearchSpace space = toy_space();
  const Genome g = toy_genome(0);
  const NamedState p1 = export_member_state(member_with_extras(g, test_seed(), 1.0f));
  const NamedState p2 = export_member_state(member_with_extras(g, test_seed() + 1, 2.0f));
  const NamedState fresh = export_member_state(member_with_extras(g, test_seed() + 2, 3.0f));

  ChildPlan mix;
  mix.slot = 3;
  mix.parent1 = 0;
  mix.parent2 = 1;
  mix.kind = ChildKind::Mix;
  mix.genome = g;
  mix.swapped_genes = {};  // no genes swapped: the donor's buffer must still move
  CHECK(donor_extras(kExtras));
  const NamedState donor = donor_tensors(space, mix.swapped_genes, p2, kExtras);
  REQUIRE(donor.size() == 2);  // the buffer's two entries only
  CHECK(donor[0].name == "extra.buffer.obs");
  const NamedState child = assemble_child(space, mix, p1, donor, fresh, {}, kExtras);
  CHECK(tag_of(child, "extra.buffer.obs") == 2.0f);
  CHECK(tag_of(child, "extra.buffer.size") == 2.0f);
  CHECK(tag_of(child, "extra.stats.count") == 1.0f);
  CHECK(tag_of(child, "extra.scratch") == 3.0f);
  // The child's tensors are copies, not views of a parent's.
  CHECK(find_tensor(child, "extra.buffer.obs")->data_ptr() != find_tensor(p2, "extra.buffer.obs")->data_ptr());

  // The donor's payload lacks the buffer: an error naming the entry, not a silent parent1 copy.
  CHECK_THROWS_WITH(assemble_child(space, mix, p1, NamedState{}, fresh, {}, kExtras),
                    Catch::Contains("extra.buffer.obs") && Catch::Contains("donor"));

  ChildPlan clone = mix;
  clone.kind = ChildKind::Clone;
  clone.parent2 = 0;
  const NamedState c = assemble_child(space, clone, p1, NamedState{}, fresh, {}, kExtras);
  CHECK(tag_of(c, "extra.buffer.obs") == 1.0f);
  CHECK(tag_of(c, "extra.stats.count") == 1.0f);
  CHECK(tag_of(c, "extra.scratch") == 3.0f);
  // Without declared extras every extra entry follows parent1.
  const NamedState plain = assemble_child(space, mix, p1, donor_tensors(space, {}, p2), fresh, {});
  CHECK(tag_of(plain, "extra.buffer.obs") == 1.0f);
  CHECK(tag_of(plain, "extra.scratch") == 1.0f);
}
