#include <catch2/catch.hpp>

#include <sstream>
#include <type_traits>

#include <set>

#include "pbtnas/nn/member.hpp"
#include "support/seed.hpp"
#include "support/toy_model.hpp"

using namespace pbtnas;
using pbtnas::test::make_toy_member;
using pbtnas::test::test_seed;
using pbtnas::test::toy_genome;
using pbtnas::test::train_toy_member;

namespace {

struct Moments {
  bool present = false;
  std::int64_t step = 0;
  torch::Tensor exp_avg, exp_avg_sq, max_exp_avg_sq;
};

// The optimizer's state map is keyed by the parameter's TensorImpl: as a string in LibTorch 1.x,
// as the raw pointer in 2.x.
using StateKey = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type;
template <typename Key>
Key state_key(const torch::Tensor& p) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;
    os << p.unsafeGetTensorImpl();
    return os.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

Moments moments_of(const Member& m, std::size_t k, std::size_t i) {
  std::vector<torch::Tensor> params;
  for (const auto& g : m.optimizers[k]->param_groups())
    for (const auto& p : g.params()) params.push_back(p);
  const auto& state = m.optimizers[k]->state();
  const auto it = state.find(state_key<StateKey>(params.at(i)));
  Moments out;
  if (it == state.end()) return out;
  out.present = true;
  if (auto* s = dynamic_cast<const torch::optim::AdamWParamState*>(it->second.get())) {
    out.step = s->step();
    out.exp_avg = s->exp_avg();
    out.exp_avg_sq = s->exp_avg_sq();
    out.max_exp_avg_sq = s->max_exp_avg_sq();
  } else if (auto* a = dynamic_cast<const torch::optim::AdamParamState*>(it->second.get())) {
    out.step = a->step();
    out.exp_avg = a->exp_avg();
    out.exp_avg_sq = a->exp_avg_sq();
    out.max_exp_avg_sq = a->max_exp_avg_sq();
  }
  return out;
}

std::size_t param_count(const Member& m, std::size_t k) {
  std::size_t n = 0;
  for (const auto& g : m.optimizers[k]->param_groups()) n += g.params().size();
  return n;
}

// `weights`' model/average entries followed by `optim`'s optimizer entries.
NamedState combine(const NamedState& weights, const NamedState& optim) {
  NamedState out;
  for (const auto& nt : weights)
    if (nt.name.rfind("optim.", 0) != 0) out.push_back(nt);
  for (const auto& nt : optim)
    if (nt.name.rfind("optim.", 0) == 0) out.push_back(nt);
  return out;
}

void require_bit_equal(const NamedState& a, const NamedState& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].name);
    REQUIRE(a[i].name == b[i].name);
    REQUIRE(a[i].tensor.scalar_type() == b[i].tensor.scalar_type());
    REQUIRE(torch::equal(a[i].tensor, b[i].tensor));
  }
}

}  // namespace

TEST_CASE("export/import round trip is bit-identical including optimizer moments", "[member]") {
  const std::uint64_t seed = test_seed();
  Member a = make_toy_member(toy_genome(0), seed);
  train_toy_member(a, 3, seed + 1);
  const NamedState sa = export_member_state(a);

  // Layout: model, average, then optimizer 0 with a count and three moments per parameter.
  REQUIRE(sa.front().name.rfind("model.", 0) == 0);
  const torch::Tensor* count = find_tensor(sa, "optim.0.count");
  REQUIRE(count != nullptr);
  CHECK(count->item<std::int64_t>() == static_cast<std::int64_t>(param_count(a, 0)));
  REQUIRE(find_tensor(sa, "optim.0.0.step") != nullptr);
  CHECK(find_tensor(sa, "optim.0.0.step")->item<std::int64_t>() == 3);
  CHECK(find_tensor(sa, "average.cells.10.1.bias") != nullptr);
  for (const auto& nt : sa) {
    CHECK(nt.tensor.device().is_cpu());
    CHECK(nt.tensor.is_contiguous());
  }

  Member b = make_toy_member(toy_genome(0), seed + 99);
  import_member_state(b, sa);
  require_bit_equal(export_member_state(b), sa);

  // The snapshot is independent of later training, and the imported member trains identically.
  const NamedState before = export_member_state(a);
  train_toy_member(a, 1, seed + 2);
  train_toy_member(b, 1, seed + 2);
  require_bit_equal(sa, before);
  require_bit_equal(export_member_state(a), export_member_state(b));
}

TEST_CASE("a borrowed export shares the live CPU tensors, a copied one does not", "[member]") {
  const std::uint64_t seed = test_seed();
  Member a = make_toy_member(toy_genome(0), seed);
  train_toy_member(a, 2, seed + 1);
  const NamedState copied = export_member_state(a);
  const NamedState borrowed = export_member_state(a, Snapshot::Borrow);
  require_bit_equal(borrowed, copied);  // the same names, order and values
  const torch::Tensor live = a.model->named_parameters().begin()->value();
  const torch::Tensor* b = find_tensor(borrowed, "model." + a.model->named_parameters().begin()->key());
  const torch::Tensor* c = find_tensor(copied, "model." + a.model->named_parameters().begin()->key());
  REQUIRE(b != nullptr);
  REQUIRE(c != nullptr);
  CHECK(b->data_ptr() == live.data_ptr());
  CHECK(c->data_ptr() != live.data_ptr());
  // Training changes what a borrowed export holds, never a copied one.
  const NamedState before = export_member_state(a);
  train_toy_member(a, 1, seed + 2);
  require_bit_equal(copied, before);
  CHECK_FALSE(torch::equal(*b, *c));
}

TEST_CASE("an export follows a replaced model or average, not the module it saw before", "[member]") {
  const std::uint64_t seed = test_seed();
  Member a = make_toy_member(toy_genome(0), seed);
  const Member b = make_toy_member(toy_genome(1), seed + 5);
  const NamedState first = export_member_state(a, Snapshot::Borrow);  // records a's modules
  CHECK(a.module_index != nullptr);
  a.model = b.model;
  a.average = nullptr;
  const NamedState second = export_member_state(a, Snapshot::Borrow);
  const NamedState expected = module_state(*b.model, "model.");
  std::size_t modules = 0;
  for (const auto& nt : second)
    if (nt.name.rfind("model.", 0) == 0 || nt.name.rfind("average.", 0) == 0) {
      REQUIRE(modules < expected.size());
      CHECK(nt.name == expected[modules].name);
      CHECK(nt.tensor.data_ptr() == expected[modules].tensor.data_ptr());
      ++modules;
    }
  CHECK(modules == expected.size());
  CHECK(find_tensor(first, "average.cells.10.1.bias") != nullptr);
  CHECK(find_tensor(second, "average.cells.10.1.bias") == nullptr);
}

TEST_CASE("import keeps amsgrad max_exp_avg_sq and works for plain Adam", "[member]") {
  const std::uint64_t seed = test_seed();
  SECTION("AdamW with amsgrad") {
    Member a = make_toy_member(toy_genome(0), seed, true, /*amsgrad=*/true);
    train_toy_member(a, 2, seed);
    const NamedState sa = export_member_state(a);
    REQUIRE(find_tensor(sa, "optim.0.0.max_exp_avg_sq") != nullptr);
    Member b = make_toy_member(toy_genome(0), seed + 1, true, true);
    import_member_state(b, sa);
    require_bit_equal(export_member_state(b), sa);
    train_toy_member(b, 1, seed);  // the restored state is usable by the optimizer
  }
  SECTION("Adam") {
    auto with_adam = [&](std::uint64_t s) {
      Member m = make_toy_member(toy_genome(1), s, /*with_average=*/false);
      m.optimizers.clear();
      m.optimizers.push_back(std::make_unique<torch::optim::Adam>(m.model->parameters(),
                                                                  torch::optim::AdamOptions(1e-2)));
      return m;
    };
    Member a = with_adam(seed);
    train_toy_member(a, 2, seed);
    const NamedState sa = export_member_state(a);
    Member b = with_adam(seed + 5);
    import_member_state(b, sa);
    require_bit_equal(export_member_state(b), sa);
    CHECK(moments_of(b, 0, 0).present);
  }
}

TEST_CASE("import into an optimizer with a different parameter count starts it fresh", "[member]") {
  const std::uint64_t seed = test_seed();
  Member a = make_toy_member(toy_genome(0), seed);
  train_toy_member(a, 2, seed);
  Genome g = toy_genome(0);
  g[3] = 2;  // cell 3 without its first bias: one parameter fewer
  Member b = make_toy_member(g, seed + 7);
  train_toy_member(b, 1, seed);  // b has state of its own that must be cleared
  REQUIRE(param_count(b, 0) + 1 == param_count(a, 0));

  const NamedState weights = export_member_state(make_toy_member(g, seed + 8));
  import_member_state(b, combine(weights, export_member_state(a)));
  CHECK(b.optimizers[0]->state().empty());
  for (std::size_t i = 0; i < param_count(b, 0); ++i) CHECK_FALSE(moments_of(b, 0, i).present);
  require_bit_equal(combine(export_member_state(b), {}), combine(weights, {}));
}

TEST_CASE("import with the same count drops exactly the state of parameters whose shape changed",
          "[member]") {
  const std::uint64_t seed = test_seed();
  Member a = make_toy_member(toy_genome(0), seed);
  train_toy_member(a, 3, seed);
  const NamedState sa = export_member_state(a);

  SECTION("one saved moment reshaped") {
    const std::size_t victim = 5;
    NamedState edited = sa;
    for (auto& nt : edited)
      if (nt.name == "optim.0.5.exp_avg") nt.tensor = torch::zeros({nt.tensor.numel() + 1});
    Member b = make_toy_member(toy_genome(0), seed + 3);
    import_member_state(b, edited);
    for (std::size_t i = 0; i < param_count(b, 0); ++i) {
      INFO("parameter " << i);
      const Moments ma = moments_of(a, 0, i), mb = moments_of(b, 0, i);
      if (i == victim) {
        CHECK_FALSE(mb.present);
      } else {
        REQUIRE(mb.present);
        CHECK(mb.step == ma.step);
        CHECK(torch::equal(mb.exp_avg, ma.exp_avg));
        CHECK(torch::equal(mb.exp_avg_sq, ma.exp_avg_sq));
      }
    }
  }
  SECTION("a cell widened: positional mapping keeps equal shapes, drops the others") {
    Genome g = toy_genome(0);
    g[3] = 1;  // cell 3 wide: 0.weight, 0.bias and 1.weight change shape, 1.bias does not
    Member b = make_toy_member(g, seed + 4);
    REQUIRE(param_count(b, 0) == param_count(a, 0));
    import_member_state(b, combine(export_member_state(b), sa));
    std::vector<torch::Tensor> pb;
    for (const auto& grp : b.optimizers[0]->param_groups())
      for (const auto& p : grp.params()) pb.push_back(p);
    int dropped = 0;
    for (std::size_t i = 0; i < pb.size(); ++i) {
      INFO("parameter " << i);
      const Moments ma = moments_of(a, 0, i), mb = moments_of(b, 0, i);
      if (ma.exp_avg.sizes() != pb[i].sizes()) {
        CHECK_FALSE(mb.present);
        ++dropped;
      } else {
        REQUIRE(mb.present);
        CHECK(mb.step == ma.step);
        CHECK(torch::equal(mb.exp_avg, ma.exp_avg));
        CHECK(torch::equal(mb.exp_avg_sq, ma.exp_avg_sq));
      }
    }
    CHECK(dropped == 3);
    train_toy_member(b, 1, seed);  // mixed fresh and restored state trains
  }
}

TEST_CASE("import rejects states of another architecture or layout", "[member]") {
  const std::uint64_t seed = test_seed();
  Member a = make_toy_member(toy_genome(0), seed);
  Genome g = toy_genome(0);
  g[2] = 1;
  Member b = make_toy_member(g, seed);
  CHECK_THROWS_WITH(import_member_state(b, export_member_state(a)), Catch::Contains("cells.2.0.weight"));

  NamedState bad = export_member_state(a);
  bad.push_back({"bogus.x", torch::zeros({1})});  // no group: model., average., optim., extra.
  CHECK_THROWS_WITH(import_member_state(a, bad), Catch::Contains("bogus.x"));

  Member no_avg = make_toy_member(toy_genome(0), seed, /*with_average=*/false);
  CHECK_THROWS_WITH(import_member_state(no_avg, export_member_state(a)), Catch::Contains("average"));
}
