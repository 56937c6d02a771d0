#include <catch2/catch.hpp>

#include "pbtnas/nn/shrink_perturb.hpp"
#include "support/seed.hpp"

using namespace pbtnas;
using pbtnas::test::test_seed;

TEST_CASE("shrink-perturbed floating tensors equal lambda*donor + gamma*fresh", "[shrink_perturb]") {
  torch::manual_seed(test_seed());
  const auto donor = torch::randn({5, 7});
  const auto fresh = torch::randn({5, 7});
  for (const ShrinkPerturb sp : {ShrinkPerturb{}, ShrinkPerturb{0.3, 0.7}, ShrinkPerturb{0.0, 0.0}}) {
    INFO("shrink " << sp.shrink << " perturb " << sp.perturb);
    const auto out = shrink_perturb(donor, fresh, sp);
    CHECK(out.scalar_type() == torch::kFloat);
    CHECK(torch::allclose(out, sp.shrink * donor + sp.perturb * fresh, 1e-6, 1e-7));
  }
  const auto d64 = torch::randn({3}, torch::kDouble), f64 = torch::randn({3}, torch::kDouble);
  CHECK(torch::allclose(shrink_perturb(d64, f64, {}), 0.4 * d64 + 0.1 * f64, 1e-12, 1e-14));
}

TEST_CASE("shrink-perturb [1,0] returns the donor's values and [0,1] the fresh values bit-exactly",
          "[shrink_perturb]") {
  torch::manual_seed(test_seed());
  const auto donor = torch::randn({4, 3, 2});
  const auto fresh = torch::randn({4, 3, 2});
  const auto keep = shrink_perturb(donor, fresh, {1.0, 0.0});
  const auto reset = shrink_perturb(donor, fresh, {0.0, 1.0});
  CHECK(torch::equal(keep, donor));
  CHECK(torch::equal(reset, fresh));
  // Copies, never aliases.
  CHECK(keep.data_ptr() != donor.data_ptr());
  CHECK(reset.data_ptr() != fresh.data_ptr());
  // A non-contiguous donor still yields a contiguous copy.
  const auto t = donor.transpose(0, 2);
  const auto kt = shrink_perturb(t, fresh.transpose(0, 2), {1.0, 0.0});
  CHECK(kt.is_contiguous());
  CHECK(torch::equal(kt, t));
}

TEST_CASE("shrink-perturb copies integer and bool tensors (BatchNorm num_batches_tracked) from the donor",
          "[shrink_perturb]") {
  torch::manual_seed(test_seed());
  torch::nn::BatchNorm1d trained(3), fresh_bn(3);
  trained->train();
  for (int i = 0; i < 5; ++i) trained->forward(torch::randn({4, 3}));
  const auto donor = trained->num_batches_tracked;
  REQUIRE(donor.scalar_type() == torch::kLong);
  REQUIRE(donor.item<std::int64_t>() == 5);
  const auto out = shrink_perturb(donor, fresh_bn->num_batches_tracked, {});
  CHECK(out.scalar_type() == torch::kLong);
  CHECK(out.item<std::int64_t>() == 5);
  CHECK(out.data_ptr() != donor.data_ptr());

  const auto mask = torch::tensor({true, false, true});
  CHECK(torch::equal(shrink_perturb(mask, torch::zeros({3}, torch::kBool), {}), mask));
}

TEST_CASE("shrink-perturb rejects mismatched shapes, dtypes and undefined tensors", "[shrink_perturb]") {
  const auto a = torch::zeros({2, 3});
  CHECK_THROWS_WITH(shrink_perturb(a, torch::zeros({3, 2}), {}), Catch::Contains("shape"));
  CHECK_THROWS_WITH(shrink_perturb(a, torch::zeros({2, 3}, torch::kDouble), {}), Catch::Contains("dtype"));
  CHECK_THROWS_AS(shrink_perturb(torch::Tensor(), a, {}), std::invalid_argument);
}
