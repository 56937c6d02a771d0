// Model soups: the average of member states and the greedy acceptance rule (nn/soup.hpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "pbtnas/nn/soup.hpp"

using namespace pbtnas;

namespace {
NamedState state(float w, std::int64_t count, float u) {
  return {{"model.layer.weight", torch::full({2, 2}, w)},
          {"model.layer.num_batches_tracked", torch::full({}, count, torch::kLong)},
          {"model.sn.weight_u", torch::full({2}, u)},
          {"average.layer.weight", torch::full({2, 2}, 2 * w)},
          {"optim.0.0.exp_avg", torch::full({2, 2}, w)}};
}
}  // namespace

TEST_CASE("soup: floating tensors are averaged, integers floor-averaged, SN vectors and other groups kept") {
  const NamedState a = state(1.0f, 3, 7.0f), b = state(2.0f, 4, 8.0f), c = state(6.0f, 4, 9.0f);
  const NamedState s = average_states({&a, &b, &c}, {"model.", "average."});
  REQUIRE(s.size() == a.size());
  CHECK(s[0].tensor.allclose(torch::full({2, 2}, 3.0f)));                  // (1 + 2 + 6) / 3
  CHECK(s[1].tensor.item<std::int64_t>() == 3);                            // floor(11 / 3)
  CHECK(s[1].tensor.scalar_type() == torch::kLong);
  CHECK(s[2].tensor.equal(a[2].tensor));                                   // spectral-norm u: the first's
  CHECK(s[3].tensor.allclose(torch::full({2, 2}, 6.0f)));                  // the averaged copy too
  CHECK(s[4].tensor.equal(a[4].tensor));                                   // optimizer state: the first's
  CHECK(s[0].tensor.data_ptr() != a[0].tensor.data_ptr());                 // never aliases
  // One state: a copy of it.
  CHECK(average_states({&b}, {"model."})[0].tensor.equal(b[0].tensor));
  // Different architectures are refused with the tensor named.
  NamedState other = a;
  other[0].tensor = torch::zeros({3, 2});
  CHECK_THROWS_WITH(average_states({&a, &other}, {"model."}), Catch::Contains("model.layer.weight"));
}

TEST_CASE("soup: greedy acceptance keeps a candidate only when the soup gets strictly better") {
  // Fitness of a soup: a made-up table over member sets.
  std::map<std::vector<int>, double> table{{{5, 2}, 0.9}, {{5, 7}, 0.7}, {{5, 7, 2}, 0.95}, {{5, 2, 7}, 0.91}, {{5, 2, 7, 1}, 0.92}};
  std::vector<std::vector<int>> asked;
  auto evaluate = [&](const std::vector<int>& m) {
    asked.push_back(m);
    return table.count(m) ? table[m] : 0.0;
  };
  const GreedySoup soup = greedy_soup({5, 2, 7, 1}, 0.8, evaluate);
  CHECK(asked == std::vector<std::vector<int>>{{5, 2}, {5, 2, 7}, {5, 2, 7, 1}});
  CHECK(soup.members == std::vector<int>{5, 2, 7, 1});
  CHECK(soup.fitness == 0.92);
  CHECK(soup.tried == std::vector<double>{0.9, 0.91, 0.92});

  const GreedySoup none = greedy_soup({5, 7}, 0.8, evaluate);  // {5, 7}: 0.7 < 0.8
  CHECK(none.members == std::vector<int>{5});
  CHECK(none.fitness == 0.8);
  CHECK(greedy_soup({5}, 0.3, evaluate).members == std::vector<int>{5});
  // A NaN fitness never wins.
  CHECK(greedy_soup({5, 9}, 0.1, [](const std::vector<int>&) { return std::nan(""); }).members == std::vector<int>{5});
}
