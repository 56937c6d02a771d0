#include "pbtnas/tasks/rl/rl_space.hpp"

#include <string>

namespace pbtnas::rl {

namespace {
Gene weighted(std::string name, const std::vector<std::string>& options, std::vector<std::string> prefixes) {
  return Gene{std::move(name), options, std::move(prefixes), false};
}
Gene weightless(std::string name, const std::vector<std::string>& options) {
  return Gene{std::move(name), options, {}, true};
}

// The seven genes of one Q network: [op1, act1, op2, act2, op3, act3, act0].
void q_genes(std::vector<Gene>& g, const std::string& q) {
  for (int l = 1; l <= 3; ++l) {
    const std::string layer = "critic." + q + "." + std::to_string(l);
    g.push_back(weighted(layer + ".op", kLinearOps, {layer}));
    g.push_back(weightless(layer + ".act", kActivations));
  }
  g.push_back(weightless("critic." + q + ".0.act", kActivations));
}
}  // namespace

SearchSpace rl_state_space() {
  std::vector<Gene> g;
  // Actor, genes 0-9.
  for (int l = 1; l <= 3; ++l) {
    const std::string layer = "actor.policy." + std::to_string(l);
    g.push_back(weighted(layer + ".op", kLinearOps, {layer}));
  }
  for (int l = 0; l <= 3; ++l) g.push_back(weightless("actor.policy." + std::to_string(l) + ".act", kActivations));
  g.push_back(weighted("actor.feature_dim", kFeatureDims, {"actor.trunk", "actor.policy.0"}));
  g.push_back(weightless("actor.trunk.act", kActivations));
  g.push_back(weightless("actor.norm", kNorms));
  // Critic, genes 10-27.
  q_genes(g, "Q1");
  q_genes(g, "Q2");
  g.push_back(weighted("critic.feature_dim", kFeatureDims, {"critic.trunk", "critic.Q1.0", "critic.Q2.0"}));
  g.push_back(weightless("critic.trunk.act", kActivations));
  g.push_back(weightless("critic.Q1.norm", kNorms));
  g.push_back(weightless("critic.Q2.norm", kNorms));
  return SearchSpace("rl_normact_state", std::move(g));
}

SearchSpace rl_pixel_space() {
  std::vector<Gene> g = rl_state_space().genes();
  for (int l = 1; l <= 3; ++l) {
    const std::string layer = "encoder.convnet." + std::to_string(l);
    g.push_back(weighted(layer + ".op", kConvOps, {layer}));
  }
  for (int l = 0; l <= 3; ++l) g.push_back(weightless("encoder.convnet." + std::to_string(l) + ".act", kActivations));
  g.push_back(weightless("encoder.norm", kNorms));
  return SearchSpace("rl_normact", std::move(g));
}

RlArch decode(const SearchSpace& space, const Genome& genome) {
  space.validate(genome);
  auto opt = [&](const std::string& gene) {
    const int g = space.index_of(gene);
    return space.gene(static_cast<std::size_t>(g)).options.at(static_cast<std::size_t>(genome[static_cast<std::size_t>(g)]));
  };
  RlArch a;
  a.actor.feature_dim = std::stoi(opt("actor.feature_dim"));
  a.actor.trunk_act = opt("actor.trunk.act");
  a.actor.layer0_act = opt("actor.policy.0.act");
  for (int l = 1; l <= 3; ++l) {
    a.actor.ops.push_back(opt("actor.policy." + std::to_string(l) + ".op"));
    a.actor.acts.push_back(opt("actor.policy." + std::to_string(l) + ".act"));
  }
  a.actor.spectral = opt("actor.norm") == "spectral";
  for (auto* q : {&a.q1, &a.q2}) {
    const std::string n = q == &a.q1 ? "Q1" : "Q2";
    q->feature_dim = std::stoi(opt("critic.feature_dim"));
    q->trunk_act = opt("critic.trunk.act");
    q->layer0_act = opt("critic." + n + ".0.act");
    for (int l = 1; l <= 3; ++l) {
      q->ops.push_back(opt("critic." + n + "." + std::to_string(l) + ".op"));
      q->acts.push_back(opt("critic." + n + "." + std::to_string(l) + ".act"));
    }
    q->spectral = opt("critic." + n + ".norm") == "spectral";
  }
  bool has_encoder = false;
  for (const auto& gene : space.genes()) has_encoder = has_encoder || gene.name == "encoder.norm";
  if (has_encoder) {
    a.pixels = true;
    for (int l = 1; l <= 3; ++l) a.encoder.ops.push_back(opt("encoder.convnet." + std::to_string(l) + ".op"));
    for (int l = 0; l <= 3; ++l) a.encoder.acts.push_back(opt("encoder.convnet." + std::to_string(l) + ".act"));
    a.encoder.spectral = opt("encoder.norm") == "spectral";
  }
  return a;
}

}  // namespace pbtnas::rl
