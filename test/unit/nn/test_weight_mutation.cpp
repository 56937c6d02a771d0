#include <catch2/catch.hpp>

#include "pbtnas/nn/member.hpp"
#include "pbtnas/nn/weight_mutation.hpp"
#include "pbtnas/core/seed.hpp"
#include "support/seed.hpp"
#include "support/toy_model.hpp"

using namespace pbtnas;
using pbtnas::test::make_toy_member;
using pbtnas::test::test_seed;
using pbtnas::test::toy_genome;
using pbtnas::test::train_toy_member;

namespace {

NamedState deep_copy(const NamedState& s) {
  NamedState out;
  for (const auto& nt : s) out.push_back({nt.name, nt.tensor.clone()});
  return out;
}

NamedState toy_state(std::uint64_t seed) {
  Member m = make_toy_member(toy_genome(0), seed);
  train_toy_member(m, 1, seed);
  NamedState s = export_member_state(m);
  // The toy's layers have a first dimension <= 10, where m ~ U{0..ceil(0.1*n0)-1} is always 0
  // (the SEARL quirk): add larger tensors that can actually mutate.
  s.push_back({"model.big.weight", torch::randn({40, 3})});
  s.push_back({"average.big.weight", torch::randn({40, 3})});
  s.push_back({"model.prenorm.weight", torch::randn({40, 4})});          // 2-D but named "norm"
  s.push_back({"model.table.index", torch::arange(24).reshape({6, 4})});  // 2-D integer
  return s;
}

}  // namespace

TEST_CASE("weight mutation changes only >1-dim non-norm floating model tensors", "[weight_mutation]") {
  const NamedState base = toy_state(test_seed());
  Rng seeds(test_seed());
  std::int64_t total = 0;
  int changed_tensors = 0;
  for (int trial = 0; trial < 40; ++trial) {
    NamedState s = deep_copy(base);
    total += mutate_weights(s, seeds.next());
    REQUIRE(s.size() == base.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
      REQUIRE(s[i].name == base[i].name);
      const auto& t = s[i].tensor;
      CHECK(t.sizes() == base[i].tensor.sizes());
      CHECK(t.scalar_type() == base[i].tensor.scalar_type());
      if (torch::equal(t, base[i].tensor)) continue;
      ++changed_tensors;
      INFO(s[i].name);
      CHECK(s[i].name.rfind("model.", 0) == 0);
      CHECK(s[i].name.find("norm") == std::string::npos);
      CHECK(t.dim() > 1);
      CHECK(t.is_floating_point());
    }
  }
  CHECK(total > 0);
  CHECK(changed_tensors > 0);

  // With the average group included, average tensors become candidates too.
  bool average_changed = false;
  for (int trial = 0; trial < 40 && !average_changed; ++trial) {
    NamedState s = deep_copy(base);
    mutate_weights(s, seeds.next(), {"model.", "average."});
    for (std::size_t i = 0; i < s.size(); ++i)
      if (s[i].name.rfind("average.", 0) == 0 && !torch::equal(s[i].tensor, base[i].tensor)) average_changed = true;
  }
  CHECK(average_changed);
}

TEST_CASE("weight mutation is deterministic per seed", "[weight_mutation]") {
  const NamedState base = toy_state(test_seed() + 1);
  const std::uint64_t seed = test_seed();
  NamedState a = deep_copy(base), b = deep_copy(base);
  const auto na = mutate_weights(a, seed);
  const auto nb = mutate_weights(b, seed);
  CHECK(na == nb);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(torch::equal(a[i].tensor, b[i].tensor));

  bool some_differ = false;
  for (std::uint64_t other = seed + 1; other < seed + 20 && !some_differ; ++other) {
    NamedState c = deep_copy(base);
    mutate_weights(c, other);
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!torch::equal(a[i].tensor, c[i].tensor)) some_differ = true;
  }
  CHECK(some_differ);
}

TEST_CASE("weight mutation changes about the expected number of elements", "[weight_mutation]") {
  // One candidate W of shape [100, 50]: m ~ U{0..9}, so E[masked] = 4.5 / 100 * 5000 = 225.
  torch::manual_seed(test_seed());
  const NamedState base = {{"model.w", torch::randn({100, 50})}, {"model.b", torch::randn({100})}};
  Rng seeds(test_seed() + 17);
  const int trials = 400;
  double masked = 0, changed = 0;
  for (int t = 0; t < trials; ++t) {
    NamedState s = deep_copy(base);
    masked += static_cast<double>(mutate_weights(s, seeds.next()));
    changed += static_cast<double>((s[0].tensor != base[0].tensor).sum().item<std::int64_t>());
    CHECK(torch::equal(s[1].tensor, base[1].tensor));
    CHECK(s[0].tensor.abs().max().item<float>() <= 1e6f);
  }
  // Mean over 400 trials has a standard deviation of about 7.5: allow ~4.5 sigma.
  CHECK(masked / trials == Approx(225.0).margin(34.0));
  CHECK(changed <= masked);
  CHECK(changed >= 0.97 * masked);
}

TEST_CASE("weight mutation without candidates changes nothing", "[weight_mutation]") {
  NamedState s = {{"model.bias", torch::ones({4})}, {"model.norm.weight", torch::ones({4, 4})},
                  {"average.w", torch::ones({4, 4})}, {"optim.0.0.exp_avg", torch::ones({4, 4})}};
  CHECK(mutate_weights(s, 1) == 0);
  for (const auto& nt : s) CHECK(torch::equal(nt.tensor, torch::ones_like(nt.tensor)));
}
