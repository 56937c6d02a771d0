// The GAN search spaces against docs/algorithm.md, "GAN search spaces": gene order, option lists, weightless
// genes, module prefixes and the number of architectures.
#include "pbtnas/tasks/gan/gan_spaces.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <string>
#include <vector>

using namespace pbtnas;
using namespace pbtnas::gan;

namespace {

using Names = std::vector<std::string>;

struct Expected {
  std::string name;
  std::size_t n_options;
  std::string prefix;  // empty: weightless
};

std::vector<Expected> expected_cells() {
  std::vector<Expected> out;
  for (int k = 1; k <= 3; ++k) {
    const std::string c = "cell" + std::to_string(k);
    for (const char* up : {"up0", "up1"})
      out.push_back({c + "." + up, 3, "generator." + c + "." + up});
    for (int i = 0; i < 5; ++i)
      out.push_back({c + ".c" + std::to_string(i), 7, "generator." + c + ".c" + std::to_string(i)});
  }
  return out;
}

std::vector<Expected> expected_hard() {
  std::vector<Expected> out{{"proj0.linear", 6, "generator.projections.0.linear"},
                            {"proj0.up_mode", 2, ""},
                            {"proj0.dropout", 3, ""}};
  for (int i = 1; i <= 2; ++i) {
    const std::string p = "proj" + std::to_string(i);
    out.push_back({p + ".if_enabled", 2, ""});
    out.push_back({p + ".linear", 6, "generator.projections." + std::to_string(i) + ".linear"});
    out.push_back({p + ".up_mode", 2, ""});
    out.push_back({p + ".dropout", 3, ""});
  }
  for (const auto& e : expected_cells()) out.push_back(e);
  for (int b = 1; b <= 4; ++b) {
    const std::string g = "dblock" + std::to_string(b);
    const std::string m = "discriminator.block" + std::to_string(b);
    for (int i = 0; i < 7; ++i) {
      const std::string node = "c" + std::to_string(i);
      out.push_back({g + "." + node, (b == 1 && i < 3) ? 5u : 7u, m + "." + node});
    }
    out.push_back({g + ".downsample", 2, ""});
    out.push_back({g + ".down0", 8, m + ".down0"});
    out.push_back({g + ".down1", 8, m + ".down1"});
  }
  return out;
}

void check_layout(const SearchSpace& space, const std::vector<Expected>& want) {
  REQUIRE(space.size() == want.size());
  for (std::size_t g = 0; g < want.size(); ++g) {
    INFO("gene " << g);
    const Gene& gene = space.gene(g);
    CHECK(gene.name == want[g].name);
    CHECK(gene.options.size() == want[g].n_options);
    if (want[g].prefix.empty()) {
      CHECK(gene.weightless);
      CHECK(gene.prefixes.empty());
    } else {
      CHECK_FALSE(gene.weightless);
      CHECK(gene.prefixes == Names{want[g].prefix});
    }
  }
}

// Every prefix distinct, and none a dotted prefix of another (ownership is disjoint).
void check_prefixes_disjoint(const SearchSpace& space) {
  std::vector<std::string> all;
  for (const auto& gene : space.genes())
    for (const auto& p : gene.prefixes) all.push_back(p);
  CHECK(std::set<std::string>(all.begin(), all.end()).size() == all.size());
  for (std::size_t i = 0; i < all.size(); ++i)
    for (std::size_t j = 0; j < all.size(); ++j)
      if (i != j) {
        INFO(all[i] << " vs " << all[j]);
        CHECK_FALSE(has_module_prefix(all[j], all[i]));
      }
}

double log10_of(double x) { return std::log10(x); }

}  // namespace

TEST_CASE("option lists are the released code's, in order", "[gan][spaces]") {
  CHECK(edge_op_names() == Names{"none", "skip_connect", "conv_1x1", "conv_3x3", "conv_5x5",
                                 "dil_conv_3x3", "dil_conv_5x5"});
  CHECK(up_op_names() == Names{"nearest", "bilinear", "convtranspose"});
  CHECK(projection_linear_names() == Names{"whole_bottom", "whole_prev", "whole_target",
                                           "part_bottom", "part_prev", "part_target"});
  CHECK(up_mode_names() == Names{"nearest", "bilinear"});
  CHECK(dropout_names() == Names{"0.0", "0.1", "0.2"});
  CHECK(bool_names() == Names{"False", "True"});
  CHECK(d_input_op_names() ==
        Names{"conv_1x1", "conv_3x3", "conv_5x5", "dil_conv_3x3", "dil_conv_5x5"});
  CHECK(down_op_names() == Names{"avg_pool_input", "max_pool_input", "avg_pool", "max_pool",
                                 "conv_3x3", "conv_5x5", "dil_conv_3x3", "dil_conv_5x5"});
}

TEST_CASE("gan_easy has the 21 generator genes of the paper's GanEasy space", "[gan][spaces]") {
  const SearchSpace s = gan_easy_space();
  CHECK(s.name() == "gan_easy");
  CHECK(s.size() == 21);
  check_layout(s, expected_cells());
  for (const auto& gene : s.genes())
    CHECK(gene.options == (gene.name.find(".up") != std::string::npos ? up_op_names()
                                                                        : edge_op_names()));
  check_prefixes_disjoint(s);
  // 3^6 · 7^15 = 3,460,972,340,748,447 ≈ 3.46e15.
  CHECK(s.log10_cardinality() == Approx(6 * std::log10(3.0) + 15 * std::log10(7.0)));
  CHECK(std::abs(s.log10_cardinality() - log10_of(3.46e15)) < std::log10(1.01));
}

TEST_CASE("gan_hard has the 72 genes of the paper's GanHard space", "[gan][spaces]") {
  const SearchSpace s = gan_hard_space();
  CHECK(s.name() == "gan_hard");
  CHECK(s.size() == 72);
  check_layout(s, expected_hard());
  check_prefixes_disjoint(s);
  // Spot checks of the documented indices.
  CHECK(s.index_of("proj0.linear") == 0);
  CHECK(s.index_of("proj1.if_enabled") == 3);
  CHECK(s.index_of("proj2.if_enabled") == 7);
  CHECK(s.index_of("cell1.up0") == 11);
  CHECK(s.index_of("cell3.c4") == 31);
  CHECK(s.index_of("dblock1.c0") == 32);
  CHECK(s.index_of("dblock1.down1") == 41);
  CHECK(s.index_of("dblock2.c0") == 42);
  CHECK(s.index_of("dblock4.down1") == 71);
  CHECK(s.gene(32).options == d_input_op_names());
  CHECK(s.gene(35).options == edge_op_names());  // dblock1.c3
  CHECK(s.gene(42).options == edge_op_names());  // dblock2.c0 may be 'none'
  CHECK(s.gene(40).options == down_op_names());
  CHECK(s.gene(39).options == bool_names());
  CHECK(s.gene(1).options == up_mode_names());
  CHECK(s.gene(2).options == dropout_names());
  // proj: 6·2·3 · (2·6·2·3)²; cells 3^6·7^15; D: 5^3·7^4·2·8^2 · (7^7·2·8^2)^3 ≈ 2.906e52.
  const double want = std::log10(36.0) + 2 * std::log10(72.0) + 6 * std::log10(3.0) +
                      15 * std::log10(7.0) + 3 * std::log10(5.0) + 4 * std::log10(7.0) +
                      std::log10(128.0) + 3 * (7 * std::log10(7.0) + std::log10(128.0));
  CHECK(s.log10_cardinality() == Approx(want));
  CHECK(std::abs(s.log10_cardinality() - log10_of(2.9e52)) < std::log10(1.01));
}

TEST_CASE("GAN genes own exactly their module's tensors", "[gan][spaces]") {
  const SearchSpace s = gan_hard_space();
  const auto own = [&](const std::string& gene, const std::string& tensor) {
    return s.owns(static_cast<std::size_t>(s.index_of(gene)), tensor);
  };
  CHECK(own("cell1.c0", "generator.cell1.c0.conv.weight"));
  CHECK_FALSE(own("cell1.c0", "generator.cell1.c1.conv.weight"));
  CHECK_FALSE(own("cell1.c0", "generator.cell2.c0.conv.weight"));
  CHECK(own("cell2.up1", "generator.cell2.up1.conv1x1.bias"));
  CHECK(own("proj1.linear", "generator.projections.1.linear.weight"));
  CHECK_FALSE(own("proj1.linear", "generator.projections.2.linear.weight"));
  CHECK(own("dblock1.c0", "discriminator.block1.c0.conv.weight_orig"));
  CHECK(own("dblock3.down0", "discriminator.block3.down0.conv.weight_u"));
  CHECK_FALSE(own("dblock1.c0", "generator.cell1.c0.conv.weight"));
  // Fixed layers belong to no gene.
  std::vector<int> all(s.size());
  for (std::size_t g = 0; g < s.size(); ++g) all[g] = static_cast<int>(g);
  for (const char* fixed : {"generator.to_rgb.0.weight", "generator.cell2.skip_in.0.weight",
                            "discriminator.l5.weight_orig"})
    CHECK_FALSE(s.owned_by_any(all, fixed));
}
