// The GAN networks (docs/algorithm.md, "GAN search spaces"): every option of every gene builds and trains, output
// shapes, the HARD RULE of tensor ownership, deterministic init, the B1 and Q5 quirks.
#include "pbtnas/tasks/gan/gan_models.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <catch2/catch.hpp>
#include "unit/gan/gan_test_util.hpp"
#include <cmath>
#include <map>

#include "pbtnas/tasks/gan/gan_spaces.hpp"
#include "pbtnas/tasks/gan/spectral_norm.hpp"
#include "pbtnas/core/seed.hpp"
#include "support/seed.hpp"

using namespace pbtnas;
using namespace pbtnas::gan;

namespace {

GanModelConfig tiny_config() {
  GanModelConfig cfg;
  cfg.gf_dim = 8;
  cfg.df_dim = 8;
  cfg.latent_dim = 12;
  cfg.bottom_width = 2;  // 16 x 16 images
  cfg.image_channels = 1;
  return cfg;
}

SearchSpace space_of(GanSpaceKind kind) {
  return kind == GanSpaceKind::Easy ? gan_easy_space() : gan_hard_space();
}

// A genome where every node is present: conv_3x3 edges, nearest ups; GanHard: all projections
// on (part_target, bilinear, dropout 0.1), D blocks with downsample, avg_pool / conv_3x3 downs.
Genome base_genome(GanSpaceKind kind) {
  const SearchSpace space = space_of(kind);
  Genome g(space.size(), 0);
  for (std::size_t i = 0; i < space.size(); ++i) {
    const std::string& name = space.gene(i).name;
    const auto pos = name.find('.');
    const std::string leaf = name.substr(pos + 1);
    if (leaf[0] == 'c' && leaf.size() == 2)  // c0..c6
      g[i] = space.gene(i).options.size() == 5 ? 1 : 3;
    else if (leaf == "if_enabled" || leaf == "downsample" || leaf == "up_mode" ||
             leaf == "dropout")
      g[i] = 1;
    else if (leaf == "linear")
      g[i] = 5;
    else if (leaf == "down0")
      g[i] = 2;
    else if (leaf == "down1")
      g[i] = 4;
  }
  return g;
}

std::shared_ptr<GanNetImpl> build(GanSpaceKind kind, const Genome& g, const GanModelConfig& cfg,
                                  std::uint64_t seed = 1) {
  auto net = std::make_shared<GanNetImpl>(kind, g, cfg);
  init_gan_net(*net, seed);
  return net;
}

std::map<std::string, torch::Tensor> tensors(const torch::nn::Module& net) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : net.named_parameters()) out[p.key()] = p.value();
  for (const auto& b : net.named_buffers()) out[b.key()] = b.value();
  return out;
}

std::map<std::string, std::vector<std::int64_t>> shapes(const torch::nn::Module& net) {
  std::map<std::string, std::vector<std::int64_t>> out;
  for (const auto& kv : tensors(net)) out[kv.first] = kv.second.sizes().vec();
  return out;
}

at::Generator input_gen(std::uint64_t salt = 0) {
  return at::make_generator<at::CPUGeneratorImpl>(pbtnas::test::test_seed() + salt);
}

// One training-like step: G and D forward, hinge-like loss, backward. Checks the shapes.
void run_step(GanNetImpl& net, const GanModelConfig& cfg) {
  auto gen = input_gen();
  const torch::Tensor z = torch::empty({2, cfg.latent_dim}).normal_(0.0, 1.0, gen);
  const int side = cfg.bottom_width * 8;
  const torch::Tensor real =
      torch::empty({2, cfg.image_channels, side, side}).uniform_(-1.0, 1.0, gen);
  net.train();
  const torch::Tensor fake = net.generate(z);
  REQUIRE(fake.sizes() == torch::IntArrayRef({2, cfg.image_channels, side, side}));
  CHECK(fake.abs().max().item<double>() <= 1.0);
  const torch::Tensor d_fake = net.discriminate(fake);
  const torch::Tensor d_real = net.discriminate(real);
  REQUIRE(d_fake.sizes() == torch::IntArrayRef({2, 1}));
  REQUIRE(d_real.sizes() == torch::IntArrayRef({2, 1}));
  const torch::Tensor loss = torch::relu(1.0 - d_real).mean() + torch::relu(1.0 + d_fake).mean();
  CHECK(std::isfinite(loss.item<double>()));
  loss.backward();
  CHECK(net.generator->parameters()[0].grad().defined());
}

}  // namespace

TEST_CASE("gan model: tensor names carry the space's prefixes", "[gan][model]") {
  const GanModelConfig cfg = tiny_config();
  const auto hard = shapes(*build(GanSpaceKind::Hard, base_genome(GanSpaceKind::Hard), cfg));
  for (const char* name :
       {"generator.cell1.c0.conv.weight", "generator.cell1.up0.conv.weight",
        "generator.cell2.skip_in.0.weight", "generator.cell3.skip_in.1.bias",
        "generator.projections.0.linear.weight", "generator.to_rgb.bn.weight",
        "generator.to_rgb.conv.weight", "discriminator.block1.c0.conv.weight_orig",
        "discriminator.block1.c0.conv.weight_u", "discriminator.block2.down1.conv.weight_v",
        "discriminator.l5.weight_orig"}) {
    INFO(name);
    CHECK(hard.count(name) == 1);
  }
  CHECK(hard.count("discriminator.l5.bias") == 0);
  CHECK(hard.at("generator.projections.0.linear.weight") ==
        std::vector<std::int64_t>{2 * 2 * 8, 4});  // part (12 / 3) -> target 2x2 x gf
  const auto easy = shapes(*build(GanSpaceKind::Easy, base_genome(GanSpaceKind::Easy), cfg));
  CHECK(easy.count("generator.fixed_projections.2.linear.weight") == 1);
  CHECK(easy.count("discriminator.block1.c_sc.weight_orig") == 1);
  CHECK(easy.count("discriminator.block2.c_sc.weight_orig") == 1);
  CHECK(easy.count("discriminator.block3.c_sc.weight_orig") == 0);
  CHECK(easy.count("discriminator.l5.weight_orig") == 1);
}

TEST_CASE("gan model: every option of every gene builds and runs forward and backward",
          "[gan][model]") {
  const GanModelConfig cfg = tiny_config();
  for (GanSpaceKind kind : {GanSpaceKind::Easy, GanSpaceKind::Hard}) {
    const SearchSpace space = space_of(kind);
    const Genome base = base_genome(kind);
    for (std::size_t g = 0; g < space.size(); ++g)
      for (std::size_t o = 0; o < space.gene(g).options.size(); ++o) {
        Genome v = base;
        v[g] = static_cast<int>(o);
        INFO(space.name() << " gene " << space.gene(g).name << " = " << space.gene(g).options[o]);
        run_step(*build(kind, v, cfg), cfg);
      }
  }
}

TEST_CASE("gan model: GanHard D blocks with downsample on/off and every down op",
          "[gan][model]") {
  GanModelConfig cfg = tiny_config();
  const SearchSpace space = gan_hard_space();
  for (bool faithful : {true, false}) {
    cfg.faithful_d_block = faithful;
    for (int b = 1; b <= 4; ++b)
      for (int ds = 0; ds < 2; ++ds)
        for (int d0 = 0; d0 < 8; ++d0) {
          const std::string block = "dblock" + std::to_string(b) + ".";
          Genome v = base_genome(GanSpaceKind::Hard);
          v[space.index_of(block + "downsample")] = ds;
          v[space.index_of(block + "down0")] = d0;
          v[space.index_of(block + "down1")] = (d0 + 3) % 8;
          INFO("faithful " << faithful << " block " << b << " ds " << ds << " down0 " << d0);
          run_step(*build(GanSpaceKind::Hard, v, cfg), cfg);
        }
  }
}

TEST_CASE("gan model: tensors follow the genes that own them (HARD RULE)", "[gan][space]") {
  const GanModelConfig cfg = tiny_config();
  for (GanSpaceKind kind : {GanSpaceKind::Easy, GanSpaceKind::Hard}) {
    const SearchSpace space = space_of(kind);
    Rng rng(pbtnas::test::test_seed());
    std::vector<Genome> bases{base_genome(kind), Genome(space.size(), 0),
                              test::random_genome(space, rng)};
    for (std::size_t bi = 0; bi < bases.size(); ++bi) {
      const Genome& base = bases[bi];
      const auto base_net = build(kind, base, cfg, 7);
      const auto base_t = tensors(*base_net);
      for (const auto& kv : base_t) {
        int owners = 0;
        for (std::size_t g = 0; g < space.size(); ++g) owners += space.owns(g, kv.first) ? 1 : 0;
        INFO(kv.first);
        CHECK(owners <= 1);
        if (owners == 0) {
          bool fixed = has_module_prefix(kv.first, "generator.to_rgb") ||
                       has_module_prefix(kv.first, "discriminator.l5");
          for (int k = 1; k <= 3; ++k)
            fixed = fixed || has_module_prefix(kv.first, "generator.cell" + std::to_string(k) +
                                                             ".skip_in");
          if (kind == GanSpaceKind::Easy)
            fixed = fixed || has_module_prefix(kv.first, "generator.fixed_projections") ||
                    has_module_prefix(kv.first, "discriminator");
          CHECK(fixed);
        }
      }
      for (std::size_t g = 0; g < space.size(); ++g)
        for (std::size_t o = 0; o < space.gene(g).options.size(); ++o) {
          Genome v = base;
          v[g] = static_cast<int>(o);
          INFO(space.name() << " gene " << space.gene(g).name << " = "
                            << space.gene(g).options[o]);
          const bool with_values = bi == 0;
          std::shared_ptr<GanNetImpl> net = with_values ? build(kind, v, cfg, 7)
                                                        : std::make_shared<GanNetImpl>(kind, v, cfg);
          const auto var_t = tensors(*net);
          std::map<std::string, std::vector<std::int64_t>> out_base, out_var;
          for (const auto& kv : base_t)
            if (!space.owns(g, kv.first)) out_base[kv.first] = kv.second.sizes().vec();
          for (const auto& kv : var_t)
            if (!space.owns(g, kv.first)) out_var[kv.first] = kv.second.sizes().vec();
          CHECK(out_base == out_var);
          if (space.gene(g).weightless) CHECK(shapes(*base_net) == shapes(*net));
          if (with_values && out_base == out_var) {
            bool same = true;
            for (const auto& kv : out_base) same = same && base_t.at(kv.first).equal(var_t.at(kv.first));
            CHECK(same);  // initial values are keyed by name, not by the architecture
          }
        }
    }
    // The same option gives the same names, shapes and initial values under the gene's prefix
    // whatever the rest of the genome.
    const Genome a = test::random_genome(space, rng);
    const auto ta = tensors(*build(kind, a, cfg, 3));
    for (std::size_t g = 0; g < space.size(); ++g) {
      Genome c = test::random_genome(space, rng);
      c[g] = a[g];
      const auto tc = tensors(*build(kind, c, cfg, 3));
      std::map<std::string, torch::Tensor> in_a, in_c;
      for (const auto& kv : ta)
        if (space.owns(g, kv.first)) in_a.insert(kv);
      for (const auto& kv : tc)
        if (space.owns(g, kv.first)) in_c.insert(kv);
      INFO(space.name() << " gene " << space.gene(g).name);
      REQUIRE(in_a.size() == in_c.size());
      for (const auto& kv : in_a) {
        REQUIRE(in_c.count(kv.first) == 1);
        CHECK(kv.second.equal(in_c.at(kv.first)));
      }
    }
  }
}

TEST_CASE("gan model: init is deterministic per seed and leaves the global RNG alone",
          "[gan][init]") {
  const GanModelConfig cfg = tiny_config();
  for (GanSpaceKind kind : {GanSpaceKind::Easy, GanSpaceKind::Hard}) {
    const Genome g = base_genome(kind);
    auto a = std::make_shared<GanNetImpl>(kind, g, cfg);
    auto b = std::make_shared<GanNetImpl>(kind, g, cfg);
    auto c = std::make_shared<GanNetImpl>(kind, g, cfg);
    torch::manual_seed(11);
    const torch::Tensor expected = torch::rand({4});
    torch::manual_seed(11);
    init_gan_net(*a, 5);
    CHECK(torch::rand({4}).equal(expected));
    init_gan_net(*b, 5);
    init_gan_net(*c, 6);
    const auto ta = tensors(*a), tb = tensors(*b), tc = tensors(*c);
    REQUIRE(ta.size() == tb.size());
    int differ = 0;
    for (const auto& kv : ta) {
      INFO(kv.first);
      CHECK(kv.second.equal(tb.at(kv.first)));
      differ += kv.second.equal(tc.at(kv.first)) ? 0 : 1;
    }
    CHECK(differ > static_cast<int>(ta.size()) / 2);
    // BatchNorm weight ~ N(1, 0.02), bias 0; SN u, v unit vectors.
    const torch::Tensor bn = ta.at("generator.to_rgb.bn.weight");
    CHECK((bn - 1.0).abs().max().item<double>() < 0.2);
    CHECK(ta.at("generator.to_rgb.bn.bias").abs().max().item<double>() == 0.0);
    CHECK(ta.at("discriminator.l5.weight_u").norm().item<double>() == Approx(1.0));
    // Xavier bound for a conv: sqrt(6 / ((in + out) * k * k)).
    const torch::Tensor w = ta.at("generator.to_rgb.conv.weight");  // 1 x 8 x 3 x 3
    CHECK(w.abs().max().item<double>() <= std::sqrt(6.0 / (9.0 * 9.0)) + 1e-9);
  }
}

TEST_CASE("gan model: B1 faithful D block returns branch 1 only", "[gan][model]") {
  GanModelConfig cfg = tiny_config();
  const Genome g = base_genome(GanSpaceKind::Hard);  // every block has both branches
  cfg.faithful_d_block = true;
  auto faithful = build(GanSpaceKind::Hard, g, cfg, 9);
  cfg.faithful_d_block = false;
  auto fixed = build(GanSpaceKind::Hard, g, cfg, 9);
  faithful->eval();
  fixed->eval();
  auto gen = input_gen(1);
  const torch::Tensor x = torch::empty({3, 1, 16, 16}).uniform_(-1.0, 1.0, gen);
  const torch::Tensor a = faithful->discriminate(x);
  const torch::Tensor b = fixed->discriminate(x);
  CHECK_FALSE(torch::allclose(a, b));
  // Faithful: branch 2 (c2, c4, c6) never reaches the output, so it gets no gradient.
  a.sum().backward();
  for (const auto& p : faithful->named_parameters()) {
    if (!has_module_prefix(p.key(), "discriminator.block2.c2")) continue;
    INFO(p.key());
    CHECK((!p.value().grad().defined() || p.value().grad().abs().sum().item<double>() == 0.0));
  }
  b.sum().backward();
  CHECK(fixed->named_parameters()["discriminator.block2.c2.conv.weight_orig"].grad().defined());
}

TEST_CASE("gan model: a cell's skip_out carries its own skip-in additions (Q5)", "[gan][model]") {
  // c0 = skip_connect, c1 = none: node2 = node0 (+ skip-ins).
  GanCellImpl cell({0, 0, 1, 0, 3, 3, 3}, 4, false, 1);
  init_gan_net(cell, 2);
  auto gen = input_gen(2);
  const torch::Tensor x = torch::empty({2, 4, 3, 3}).normal_(0.0, 1.0, gen);
  const torch::Tensor f = torch::empty({2, 4, 3, 3}).normal_(0.0, 1.0, gen);
  torch::NoGradGuard no_grad;
  auto skip = cell.named_parameters();
  skip["skip_in.0.weight"].zero_();
  skip["skip_in.0.bias"].zero_();
  const torch::Tensor without = cell.forward(x, {f}).first;
  skip["skip_in.0.bias"].fill_(1.0);
  const torch::Tensor with = cell.forward(x, {f}).first;
  CHECK(torch::allclose(with - without, torch::ones_like(with)));
  CHECK(with.sizes() == torch::IntArrayRef({2, 4, 6, 6}));
}

TEST_CASE("gan model: bad configs and genomes are rejected", "[gan][model]") {
  GanModelConfig cfg = tiny_config();
  cfg.latent_dim = 10;
  CHECK_THROWS_AS(validate_model_config(cfg), std::invalid_argument);
  cfg = tiny_config();
  cfg.bottom_width = 1;
  CHECK_THROWS_AS(validate_model_config(cfg), std::invalid_argument);
  cfg = tiny_config();
  CHECK_THROWS_AS(GanNetImpl(GanSpaceKind::Hard, base_genome(GanSpaceKind::Easy), cfg),
                  std::invalid_argument);
  Genome bad = base_genome(GanSpaceKind::Easy);
  bad[0] = 3;
  CHECK_THROWS_AS(GanNetImpl(GanSpaceKind::Easy, bad, cfg), std::invalid_argument);
  CHECK(gan_space_kind("gan_hard") == GanSpaceKind::Hard);
  CHECK_THROWS_AS(gan_space_kind("classify_cnn"), std::invalid_argument);
  auto net = build(GanSpaceKind::Easy, base_genome(GanSpaceKind::Easy), cfg);
  CHECK_THROWS_AS(net->generate(torch::zeros({2, 11})), std::invalid_argument);
}

TEST_CASE("gan model: the paper's CIFAR-10 widths", "[gan][model]") {
  const GanModelConfig cfg;  // gf 256, df 128, latent 120, bottom 4, RGB
  const auto easy = shapes(GanNetImpl(GanSpaceKind::Easy, base_genome(GanSpaceKind::Easy), cfg));
  CHECK(easy.at("generator.fixed_projections.0.linear.weight") ==
        std::vector<std::int64_t>{4 * 4 * 256, 40});
  CHECK(easy.at("generator.fixed_projections.2.linear.weight") ==
        std::vector<std::int64_t>{16 * 16 * 256, 40});
  CHECK(easy.at("generator.to_rgb.conv.weight") == std::vector<std::int64_t>{3, 256, 3, 3});
  CHECK(easy.at("discriminator.block1.c1.weight_orig") == std::vector<std::int64_t>{128, 3, 3, 3});
  CHECK(easy.at("discriminator.l5.weight_orig") == std::vector<std::int64_t>{1, 128});
  Genome g = base_genome(GanSpaceKind::Hard);
  g[gan_hard_space().index_of("proj0.linear")] = 1;  // whole_prev: 120 -> 2x2
  g[gan_hard_space().index_of("cell1.up0")] = 2;     // convtranspose
  const auto hard = shapes(GanNetImpl(GanSpaceKind::Hard, g, cfg));
  CHECK(hard.at("generator.projections.0.linear.weight") ==
        std::vector<std::int64_t>{2 * 2 * 256, 120});
  CHECK(hard.at("generator.cell1.up0.deconv.weight") == std::vector<std::int64_t>{256, 1, 3, 3});
  CHECK(hard.count("generator.cell1.up0.conv.bias") == 0);
  CHECK(hard.at("discriminator.block1.c0.conv.weight_orig") ==
        std::vector<std::int64_t>{128, 3, 3, 3});
}
