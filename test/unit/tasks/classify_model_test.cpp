// The classify search space and network: documented genes, the HARD RULE of tensor ownership,
// every option building and training, deterministic initialisation.
#include "pbtnas/tasks/classify/classify_model.hpp"
#include "pbtnas/nn/member.hpp"

#include <catch2/catch.hpp>
#include <map>

#include "support/seed.hpp"

using namespace pbtnas;

namespace {

ClassifyOptions tiny_config() {
  ClassifyOptions cfg;
  cfg.channels = 2;
  cfg.cells_per_stage = 2;
  return cfg;
}

std::shared_ptr<ClassifyNetImpl> build(const Genome& g, const ClassifyOptions& cfg,
                                       std::uint64_t seed = 1) {
  auto net = std::make_shared<ClassifyNetImpl>(g, cfg);
  init_classify_net(*net, seed);
  return net;
}

// name -> shape of every parameter and buffer.
std::map<std::string, std::vector<std::int64_t>> shapes(const torch::nn::Module& net) {
  std::map<std::string, std::vector<std::int64_t>> out;
  for (const auto& p : net.named_parameters()) out[p.key()] = p.value().sizes().vec();
  for (const auto& b : net.named_buffers()) out[b.key()] = b.value().sizes().vec();
  return out;
}

Genome random_genome(const SearchSpace& space, Rng& rng) {
  Genome g;
  for (const auto& gene : space.genes())
    g.push_back(static_cast<int>(rng.below(gene.options.size())));
  return g;
}

}  // namespace

TEST_CASE("classify space: documented genes", "[classify][space]") {
  const ClassifyOptions cfg;  // defaults: cells_per_stage 2
  const SearchSpace space = classify_search_space(cfg);
  CHECK(space.name() == "classify_cnn");
  REQUIRE(space.size() == 18);
  const std::vector<std::string> ops{"identity",   "conv3x3",    "conv5x5",     "dilconv3x3",
                                     "sepconv3x3", "sepconv5x5", "residual3x3", "maxpool3x3"};
  for (int i = 0; i < 6; ++i) {
    const std::string c = "cell" + std::to_string(i), m = "cells." + std::to_string(i);
    const Gene& op = space.gene(3 * i);
    CHECK(op.name == c + ".op");
    CHECK(op.options == ops);
    CHECK(op.prefixes == std::vector<std::string>{m + ".op"});
    CHECK_FALSE(op.weightless);
    const Gene& norm = space.gene(3 * i + 1);
    CHECK(norm.name == c + ".norm");
    CHECK(norm.options == std::vector<std::string>{"batchnorm", "none"});
    CHECK(norm.prefixes == std::vector<std::string>{m + ".norm"});
    const Gene& act = space.gene(3 * i + 2);
    CHECK(act.name == c + ".act");
    CHECK(act.options == std::vector<std::string>{"relu", "silu", "tanh", "leaky_relu"});
    CHECK(act.weightless);
  }
  ClassifyOptions three = cfg;
  three.cells_per_stage = 3;
  CHECK(classify_search_space(three).size() == 27);
  ClassifyOptions bad = cfg;
  bad.cells_per_stage = 0;
  CHECK_THROWS_AS(classify_search_space(bad), std::invalid_argument);
}

TEST_CASE("classify model: stable module names", "[classify][model]") {
  const ClassifyOptions cfg;
  Genome g(18, 0);
  g[3 * 3] = 1;      // cell3.op = conv3x3
  g[3 * 5] = 4;      // cell5.op = sepconv3x3
  g[3 * 1 + 1] = 1;  // cell1.norm = none
  const auto s = shapes(*build(g, cfg));
  using V = std::vector<std::int64_t>;
  CHECK(s.at("stem.conv.weight") == V{16, 1, 3, 3});
  CHECK(s.at("stem.bn.running_var") == V{16});
  CHECK(s.at("cells.3.op.conv.weight") == V{32, 32, 3, 3});
  CHECK(s.at("cells.5.op.depthwise.weight") == V{64, 1, 3, 3});
  CHECK(s.at("cells.5.op.pointwise.weight") == V{64, 64, 1, 1});
  CHECK(s.at("cells.0.norm.weight") == V{16});
  CHECK(s.count("cells.1.norm.weight") == 0);
  CHECK(s.at("reduce.0.conv.weight") == V{32, 16, 3, 3});
  CHECK(s.at("reduce.1.bn.bias") == V{64});
  CHECK(s.at("head.weight") == V{10, 64});
  CHECK(s.at("head.bias") == V{10});
}

TEST_CASE("classify space: tensors follow the genes that own them (HARD RULE)",
          "[classify][space]") {
  const ClassifyOptions cfg = tiny_config();
  const SearchSpace space = classify_search_space(cfg);
  Rng rng(pbtnas::test::test_seed());
  std::vector<Genome> bases{Genome(space.size(), 0), random_genome(space, rng),
                            random_genome(space, rng)};
  for (const Genome& base : bases) {
    const auto base_shapes = shapes(ClassifyNetImpl(base, cfg));
    // Every tensor is owned by at most one gene; unowned ones are the fixed stem/reduce/head.
    for (const auto& [name, shape] : base_shapes) {
      int owners = 0;
      for (std::size_t g = 0; g < space.size(); ++g) owners += space.owns(g, name) ? 1 : 0;
      INFO(name);
      CHECK(owners <= 1);
      if (owners == 0)
        CHECK((has_module_prefix(name, "stem") || has_module_prefix(name, "reduce") ||
               has_module_prefix(name, "head")));
    }
    for (std::size_t g = 0; g < space.size(); ++g) {
      for (std::size_t o = 0; o < space.gene(g).options.size(); ++o) {
        Genome variant = base;
        variant[g] = static_cast<int>(o);
        const auto var_shapes = shapes(ClassifyNetImpl(variant, cfg));
        INFO("gene " << space.gene(g).name << " option " << space.gene(g).options[o]);
        auto outside = [&](const std::map<std::string, std::vector<std::int64_t>>& all) {
          std::map<std::string, std::vector<std::int64_t>> out;
          for (const auto& kv : all)
            if (!space.owns(g, kv.first)) out.insert(kv);
          return out;
        };
        // Tensors outside g's prefix (fixed parts and other genes' tensors) are unchanged.
        CHECK(outside(base_shapes) == outside(var_shapes));
        if (space.gene(g).weightless) CHECK(base_shapes == var_shapes);
      }
    }
  }
}

TEST_CASE("classify model: tensors under a gene depend only on its option", "[classify][space]") {
  // The same option gives the same names/shapes under the gene's prefix whatever the rest.
  const ClassifyOptions cfg = tiny_config();
  const SearchSpace space = classify_search_space(cfg);
  Rng rng(pbtnas::test::test_seed() + 1);
  const Genome a = random_genome(space, rng);
  for (std::size_t g = 0; g < space.size(); ++g) {
    Genome c = random_genome(space, rng);
    c[g] = a[g];
    std::map<std::string, std::vector<std::int64_t>> in_a, in_c;
    for (const auto& kv : shapes(ClassifyNetImpl(a, cfg)))
      if (space.owns(g, kv.first)) in_a.insert(kv);
    for (const auto& kv : shapes(ClassifyNetImpl(c, cfg)))
      if (space.owns(g, kv.first)) in_c.insert(kv);
    INFO("gene " << space.gene(g).name);
    CHECK(in_a == in_c);
  }
}

TEST_CASE("classify model: every option builds and runs forward and backward",
          "[classify][model]") {
  ClassifyOptions cfg = tiny_config();
  cfg.cells_per_stage = 1;
  const SearchSpace space = classify_search_space(cfg);
  const torch::Tensor x = torch::randn({3, 1, 12, 12}, at::make_generator<at::CPUGeneratorImpl>(5));
  const torch::Tensor y = torch::tensor({1, 4, 9}, torch::kInt64);
  for (std::size_t op = 0; op < cell_op_names().size(); ++op)
    for (std::size_t norm = 0; norm < cell_norm_names().size(); ++norm)
      for (std::size_t act = 0; act < cell_act_names().size(); ++act) {
        INFO(cell_op_names()[op] << " " << cell_norm_names()[norm] << " " << cell_act_names()[act]);
        Genome g;
        for (int cell = 0; cell < 3; ++cell) g.insert(g.end(), {int(op), int(norm), int(act)});
        space.validate(g);
        auto net = build(g, cfg);
        const torch::Tensor logits = net->forward(x);
        REQUIRE(logits.sizes() == torch::IntArrayRef({3, 10}));
        torch::nn::functional::cross_entropy(logits, y).backward();
        for (const auto& p : net->named_parameters()) {
          INFO(p.key());
          REQUIRE(p.value().grad().defined());
          CHECK(torch::isfinite(p.value().grad()).all().item<bool>());
        }
      }
}

TEST_CASE("classify model: initialisation is a function of the seed alone", "[classify][model]") {
  const ClassifyOptions cfg = tiny_config();
  const SearchSpace space = classify_search_space(cfg);
  Rng rng(pbtnas::test::test_seed() + 2);
  const Genome g = random_genome(space, rng);
  torch::manual_seed(1);  // the global RNG must not matter
  auto a = build(g, cfg, 42);
  torch::manual_seed(2);
  auto b = build(g, cfg, 42);
  auto c = build(g, cfg, 43);
  const auto pa = a->named_parameters(), pb = b->named_parameters(), pc = c->named_parameters();
  REQUIRE(pa.size() == pb.size());
  bool any_differs = false;
  for (const auto& p : pa) {
    INFO(p.key());
    CHECK(p.value().equal(pb[p.key()]));
    if (p.value().dim() > 1) {
      CHECK_FALSE(p.value().equal(pc[p.key()]));
      any_differs = true;
    }
  }
  CHECK(any_differs);
  for (const auto& buf : a->named_buffers())
    CHECK(buf.value().equal(b->named_buffers()[buf.key()]));
  // A shared tensor's initial value does not depend on the rest of the genome.
  Genome other = g;
  other[0] = (other[0] + 1) % 8;
  auto d = build(other, cfg, 42);
  CHECK(d->named_parameters()["stem.conv.weight"].equal(pa["stem.conv.weight"]));
  CHECK(d->named_parameters()["head.weight"].equal(pa["head.weight"]));
  CHECK(count_parameters(*a) > 0);
}
