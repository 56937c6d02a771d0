#pragma once
// The search space "rl_normact" (docs/algorithm.md, "RL search space"; docs/rl.md): the actor and
// critic genes 0-27 of the paper's 36 ("rl_normact_state" on state input) and, with pixel input,
// the encoder genes 28-35 (the whole "rl_normact").
#include <string>
#include <vector>

#include "pbtnas/core/search_space.hpp"

namespace pbtnas::rl {

// Option lists, in the released order.
inline const std::vector<std::string> kLinearOps{"id", "linear", "residual_05", "residual_2"};
inline const std::vector<std::string> kActivations{"id", "tanh", "relu", "swish"};
inline const std::vector<std::string> kFeatureDims{"25", "50", "100", "150"};
inline const std::vector<std::string> kNorms{"none", "spectral"};
inline const std::vector<std::string> kConvOps{"id",         "conv_3",     "conv_5",     "conv_7",
                                               "residual_3", "residual_5", "residual_7", "sep_conv_3",
                                               "sep_conv_5", "sep_conv_7"};

SearchSpace rl_state_space();
// Genes 0-35: rl_state_space() then encoder.convnet.{1,2,3}.op, encoder.convnet.{0..3}.act,
// encoder.norm (the released order).
SearchSpace rl_pixel_space();

// The architecture a genome encodes, by network.
struct MlpArch {
  int feature_dim = 50;        // trunk output
  std::string trunk_act = "relu";
  std::string layer0_act = "relu";
  std::vector<std::string> ops;    // layers 1..3
  std::vector<std::string> acts;   // layers 1..3
  bool spectral = false;
};
struct EncoderArch {
  std::vector<std::string> ops;   // layers 1..3 (kConvOps)
  std::vector<std::string> acts;  // layers 0..3
  bool spectral = false;
};
struct RlArch {
  MlpArch actor;
  MlpArch q1, q2;  // feature_dim, trunk_act shared by the critic (q1 holds them)
  bool pixels = false;  // the space has the encoder genes
  EncoderArch encoder;
};
RlArch decode(const SearchSpace& space, const Genome& genome);

}  // namespace pbtnas::rl
