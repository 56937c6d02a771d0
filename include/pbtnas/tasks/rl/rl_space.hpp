#pragma once
// The search space "rl_normact" on state input (docs/algorithm.md, "RL search space"): the actor
// and critic genes 0-27 of the paper's 36; the encoder genes 28-35 exist only with pixel input.
#include <string>
#include <vector>

#include "pbtnas/core/search_space.hpp"

namespace pbtnas::rl {

// Option lists, in the released order.
inline const std::vector<std::string> kLinearOps{"id", "linear", "residual_05", "residual_2"};
inline const std::vector<std::string> kActivations{"id", "tanh", "relu", "swish"};
inline const std::vector<std::string> kFeatureDims{"25", "50", "100", "150"};
inline const std::vector<std::string> kNorms{"none", "spectral"};

SearchSpace rl_state_space();

// The architecture a genome encodes, by network.
struct MlpArch {
  int feature_dim = 50;        // trunk output
  std::string trunk_act = "relu";
  std::string layer0_act = "relu";
  std::vector<std::string> ops;    // layers 1..3
  std::vector<std::string> acts;   // layers 1..3
  bool spectral = false;
};
struct RlArch {
  MlpArch actor;
  MlpArch q1, q2;  // feature_dim, trunk_act shared by the critic (q1 holds them)
};
RlArch decode(const SearchSpace& space, const Genome& genome);

}  // namespace pbtnas::rl
