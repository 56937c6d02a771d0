// Pixel input of the RL task (docs/rl.md, "Pixels and rendering"): the encoder's shapes for every
// searchable op, DrQ-v2's random shift against a hand-computed case, frame-stack reconstruction
// and episode boundaries in the replay buffer, and the exploit rules for the encoder's layers.
#include <catch2/catch.hpp>

#include <set>

#include "pbtnas/nn/child.hpp"
#include "pbtnas/tasks/rl/agent.hpp"
#include "pbtnas/tasks/rl/replay.hpp"
#include "pbtnas/tasks/rl/rl_task.hpp"
#include "support/rl_genome.hpp"
#include "support/seed.hpp"
#include "support/skip.hpp"

using namespace pbtnas;
using namespace pbtnas::rl;

namespace {
bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
}  // namespace

TEST_CASE("rl pixels: every encoder op keeps 32 channels and the spatial size", "[rl][pixels]") {
  const torch::Tensor x = torch::randn({2, EncoderImpl::kChannels, 41, 41});
  for (const std::string& op : kConvOps)
    for (bool spectral : {false, true}) {
      INFO(op << " spectral " << spectral);
      InitStream init(7, true);
      ConvLayer layer(op, "relu", EncoderImpl::kChannels, spectral, init);
      CHECK(layer->forward(x).sizes() == x.sizes());
      // Tensor names never depend on the norm gene.
      std::set<std::string> names;
      for (const auto& p : layer->named_parameters()) names.insert(p.key());
      if (op == "id") CHECK(names.empty());
      if (op.rfind("conv", 0) == 0) CHECK(names == std::set<std::string>{"conv.sn.bias", "conv.sn.weight_orig"});
      if (op.rfind("residual", 0) == 0 || op.rfind("sep_conv", 0) == 0)
        CHECK(names.size() == 4);
    }
  // Depthwise first conv of sep_conv_5: one 5x5 filter per channel.
  InitStream init(7, true);
  ConvLayer sep("sep_conv_5", "relu", EncoderImpl::kChannels, false, init);
  for (const auto& p : sep->named_parameters())
    if (p.key() == "conv1.sn.weight_orig") CHECK(p.value().sizes() == torch::IntArrayRef({32, 1, 5, 5}));

  // The whole encoder: 9 x 84 x 84 uint8 -> 32 * 41 * 41.
  EncoderArch arch{{"residual_7", "sep_conv_3", "id"}, {"relu", "swish", "tanh", "id"}, true};
  InitStream e_init(3, true);
  Encoder enc(9, arch, e_init);
  const torch::Tensor obs = torch::randint(0, 256, {2, 9, 84, 84}, torch::kUInt8);
  CHECK(enc->forward(obs).sizes() == torch::IntArrayRef({2, 53792}));
  CHECK(EncoderImpl::repr_dim(84) == 53792);
}

TEST_CASE("rl pixels: random shift equals the hand-computed replicate-padded crops", "[rl][pixels]") {
  // One 3x3 image 1..9 twice; pad 1; shifts (x, y) = (2, 0) and (1, 2).
  const torch::Tensor img = torch::arange(1, 10, torch::kFloat).view({1, 1, 3, 3});
  const torch::Tensor x = torch::cat({img, img}, 0);
  const torch::Tensor shifts = torch::tensor({2.0f, 0.0f, 1.0f, 2.0f}).view({2, 2});
  const torch::Tensor out = shift_images(x, 1, shifts);
  // Padded (replicate): rows [1 1 2 3 3] [1 1 2 3 3] [4 4 5 6 6] [7 7 8 9 9] [7 7 8 9 9];
  // out[y][x] = padded[y + shift_y][x + shift_x].
  const torch::Tensor expect0 = torch::tensor({2.f, 3.f, 3.f, 2.f, 3.f, 3.f, 5.f, 6.f, 6.f}).view({3, 3});
  const torch::Tensor expect1 = torch::tensor({4.f, 5.f, 6.f, 7.f, 8.f, 9.f, 7.f, 8.f, 9.f}).view({3, 3});
  CHECK(torch::allclose(out[0][0], expect0, 1e-5, 1e-5));
  CHECK(torch::allclose(out[1][0], expect1, 1e-5, 1e-5));
  // Zero shift at pad p is the centre crop, i.e. the image itself.
  CHECK(torch::allclose(shift_images(x, 1, torch::ones({2, 2})), x, 1e-5, 1e-5));
  // Drawn shifts stay within [0, 2 pad]: every output is one of the padded crops.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const torch::Tensor r = random_shift(torch::cat({img, img, img, img}, 0), 1, gen);
  for (int i = 0; i < 4; ++i) {
    bool found = false;
    for (int sx = 0; sx <= 2; ++sx)
      for (int sy = 0; sy <= 2; ++sy)
        found = found || torch::allclose(r[i], shift_images(img, 1, torch::tensor({float(sx), float(sy)}).view({1, 2}))[0],
                                         1e-5, 1e-5);
    CHECK(found);
  }
}

TEST_CASE("rl pixels: the replay buffer stores one frame per step and rebuilds frame stacks", "[rl][pixels][replay]") {
  // Frames of 3 x 2 x 2 bytes whose every byte is the step's tag; episodes start at tags 0 and 5.
  NamedState extra = ReplayBuffer::create_frames(100, {3, 2, 2}, 1);
  ReplayBuffer buf(extra);
  CHECK(buf.pixels());
  std::vector<std::uint8_t> frame(12);
  for (int t = 0; t < 12; ++t) {
    std::fill(frame.begin(), frame.end(), static_cast<std::uint8_t>(t));
    const float a = static_cast<float>(t);
    buf.add_frame(frame.data(), &a, t, t == 0 || t == 5);
  }
  CHECK(find_tensor(extra, "replay.obs")->scalar_type() == torch::kUInt8);
  CHECK(find_tensor(extra, "replay.obs")->size(1) == 3);  // one frame, not three
  // Stacks (oldest first): the episode's first frame repeats before the episode starts.
  const ReplayRows rows = buf.rows();
  CHECK(stack_indices(rows, 0, 3) == std::vector<std::int64_t>{0, 0, 0});
  CHECK(stack_indices(rows, 1, 3) == std::vector<std::int64_t>{0, 0, 1});
  CHECK(stack_indices(rows, 4, 3) == std::vector<std::int64_t>{2, 3, 4});
  CHECK(stack_indices(rows, 5, 3) == std::vector<std::int64_t>{5, 5, 5});
  CHECK(stack_indices(rows, 6, 3) == std::vector<std::int64_t>{5, 5, 6});
  // n = 2: transitions start at j with j..j+1 in one episode: j = 1..3 and 6..10.
  CHECK(buf.valid_transitions(2, 3) == 8);
  Rng rng(test::test_seed());
  const Batch b = buf.sample(200, 2, 0.5, rng, 3);
  REQUIRE(b.obs.sizes() == torch::IntArrayRef({200, 9, 2, 2}));
  CHECK(b.obs.scalar_type() == torch::kUInt8);
  for (int i = 0; i < 200; ++i) {
    const int j = static_cast<int>(b.action[i][0].item<float>());  // the action stored at slot j is j
    const int ep = j >= 5 ? 5 : 0;
    for (int s = 0; s < 3; ++s) {
      CHECK(b.obs[i][3 * s][0][0].item<int>() == std::max(ep, j - 1 - (2 - s)));
      CHECK(b.next_obs[i][3 * s][0][0].item<int>() == std::max(ep, j + 1 - (2 - s)));
    }
    CHECK(b.reward[i][0].item<float>() == Approx(j + 0.5 * (j + 1)));
  }

  // Once the ring forgets the start of an episode, steps whose stack would reach past the oldest
  // stored frame are not sampled.
  NamedState small = ReplayBuffer::create_frames(6, {3, 1, 1}, 1);
  ReplayBuffer ring(small);
  for (int t = 0; t < 9; ++t) {  // one episode; slots hold tags 3..8
    std::fill(frame.begin(), frame.begin() + 3, static_cast<std::uint8_t>(t));
    const float a = static_cast<float>(t);
    ring.add_frame(frame.data(), &a, 0, t == 0);
  }
  // Age indices 0..5 = tags 3..8; obs at j - 1 needs j - 3 >= 0: j = 3, 4, 5 (n = 1).
  CHECK(ring.valid_transitions(1, 3) == 3);
  CHECK(ring.valid_transitions(1, 1) == 5);

  // Frame rows grow in chunks like state rows: a young buffer holds (and sends) little.
  NamedState big = ReplayBuffer::create_frames(40000, {3, 84, 84}, 1);
  ReplayBuffer grow(big);
  std::vector<std::uint8_t> f84(3 * 84 * 84, 7);
  const float a0 = 0.5f;
  for (int t = 0; t < 10; ++t) grow.add_frame(f84.data(), &a0, 0, t == 0);
  CHECK(grow.allocated() == 2500);
  CHECK(find_tensor(big, "replay.obs")->sizes() == torch::IntArrayRef({2500, 3, 84, 84}));
}

TEST_CASE("rl pixels: a mixed child's encoder layers are shrink-perturbed donor layers", "[rl][pixels][child]") {
  const std::string why = gl_unavailable();
  if (!why.empty()) PBTNAS_SKIP("pixel members need an OpenGL platform: " << why);
  RlOptions cfg;
  cfg.input = "pixels";
  cfg.image_size = 24;  // repr 32 * 11 * 11
  cfg.hidden_dim = 8;
  cfg.replay_capacity = 16;
  cfg.nstep = 1;
  RlTask task(cfg, 5);
  const SearchSpace& space = task.space();
  REQUIRE(space.size() == 36);
  CHECK(space.gene(28).name == "encoder.convnet.1.op");
  CHECK(space.gene(31).name == "encoder.convnet.0.act");
  CHECK(space.gene(35).name == "encoder.norm");
  Genome g1 = test::rl_genome(space, 1, false), g2 = test::rl_genome(space, 5, true);
  Member p1 = task.create(g1, test::test_seed(), torch::kCPU);
  Member p2 = task.create(g2, test::test_seed() + 1, torch::kCPU);
  REQUIRE(p1.optimizers.size() == 3);
  const NamedState s1 = export_member_state(p1), s2 = export_member_state(p2);

  ChildPlan plan;
  plan.kind = ChildKind::Mix;
  plan.parent1 = 0;
  plan.parent2 = 1;
  plan.swapped_genes = {space.index_of("encoder.convnet.2.op"), space.index_of("encoder.norm")};
  plan.genome = g1;
  for (int g : plan.swapped_genes) plan.genome[static_cast<std::size_t>(g)] = g2[static_cast<std::size_t>(g)];
  plan.fresh_seed = 99;
  const NamedState fresh = export_member_state(task.create(plan.genome, plan.fresh_seed, torch::kCPU));
  const ShrinkPerturb sp{0.4, 0.1};
  const NamedState donor = donor_tensors(space, plan.swapped_genes, s2, task.extra_state());
  const NamedState child = assemble_child(space, plan, s1, donor, fresh, sp, task.extra_state());
  int swapped = 0, kept_encoder = 0;
  for (const auto& nt : child) {
    CHECK(!starts_with(nt.name, "average.encoder"));  // the target critic has no encoder
    if (!starts_with(nt.name, "model.encoder.")) continue;
    if (starts_with(nt.name, "model.encoder.convnet.2.")) {
      ++swapped;
      CHECK(torch::allclose(nt.tensor, 0.4 * *find_tensor(s2, nt.name) + 0.1 * *find_tensor(fresh, nt.name)));
    } else {
      ++kept_encoder;
      CHECK(torch::equal(nt.tensor, *find_tensor(s1, nt.name)));
    }
  }
  CHECK(swapped == 8);  // residual_5 (option 5): conv1 and conv2, each weight_orig, bias, weight_u, weight_v
  CHECK(kept_encoder > 0);
  bool encoder_optimizer = false;
  for (const auto& nt : child) encoder_optimizer = encoder_optimizer || starts_with(nt.name, "optim.2.");
  CHECK(encoder_optimizer);
  Member c = task.create(plan.genome, 1234, torch::kCPU);
  import_member_state(c, child);
  CHECK(c.genome == plan.genome);
}
