#include "pbtnas/tasks/gan/gan_spaces.hpp"

#include <utility>

namespace pbtnas::gan {
namespace {

Gene weighted(std::string name, const std::vector<std::string>& options, std::string prefix) {
  return Gene{std::move(name), options, {std::move(prefix)}, false};
}

Gene weightless(std::string name, const std::vector<std::string>& options) {
  return Gene{std::move(name), options, {}, true};
}

// cell<k>.[up0, up1, c0..c4] for k = 1..3 (docs/algorithm.md, "GAN search spaces").
void append_cell_genes(std::vector<Gene>& genes) {
  for (int k = 1; k <= 3; ++k) {
    const std::string cell = "cell" + std::to_string(k);
    const std::string module = "generator." + cell;
    for (const char* up : {"up0", "up1"})
      genes.push_back(weighted(cell + "." + up, up_op_names(), module + "." + up));
    for (int c = 0; c < 5; ++c) {
      const std::string node = "c" + std::to_string(c);
      genes.push_back(weighted(cell + "." + node, edge_op_names(), module + "." + node));
    }
  }
}

}  // namespace

const std::vector<std::string>& edge_op_names() {
  static const std::vector<std::string> names{"none",     "skip_connect", "conv_1x1",
                                              "conv_3x3", "conv_5x5",     "dil_conv_3x3",
                                              "dil_conv_5x5"};
  return names;
}

const std::vector<std::string>& up_op_names() {
  static const std::vector<std::string> names{"nearest", "bilinear", "convtranspose"};
  return names;
}

const std::vector<std::string>& projection_linear_names() {
  static const std::vector<std::string> names{"whole_bottom", "whole_prev", "whole_target",
                                              "part_bottom",  "part_prev",  "part_target"};
  return names;
}

const std::vector<std::string>& up_mode_names() {
  static const std::vector<std::string> names{"nearest", "bilinear"};
  return names;
}

const std::vector<std::string>& dropout_names() {
  static const std::vector<std::string> names{"0.0", "0.1", "0.2"};
  return names;
}

const std::vector<std::string>& bool_names() {
  static const std::vector<std::string> names{"False", "True"};
  return names;
}

const std::vector<std::string>& d_input_op_names() {
  static const std::vector<std::string> names{"conv_1x1", "conv_3x3", "conv_5x5", "dil_conv_3x3",
                                              "dil_conv_5x5"};
  return names;
}

const std::vector<std::string>& down_op_names() {
  static const std::vector<std::string> names{"avg_pool_input", "max_pool_input", "avg_pool",
                                              "max_pool",       "conv_3x3",       "conv_5x5",
                                              "dil_conv_3x3",   "dil_conv_5x5"};
  return names;
}

SearchSpace gan_easy_space() {
  std::vector<Gene> genes;
  append_cell_genes(genes);
  return SearchSpace("gan_easy", std::move(genes));
}

SearchSpace gan_hard_space() {
  std::vector<Gene> genes;
  // Genes 0-10: projections (projection 0 is always on and has no if_enabled gene).
  for (int i = 0; i < 3; ++i) {
    const std::string proj = "proj" + std::to_string(i);
    if (i > 0) genes.push_back(weightless(proj + ".if_enabled", bool_names()));
    genes.push_back(weighted(proj + ".linear", projection_linear_names(),
                             "generator.projections." + std::to_string(i) + ".linear"));
    genes.push_back(weightless(proj + ".up_mode", up_mode_names()));
    genes.push_back(weightless(proj + ".dropout", dropout_names()));
  }
  // Genes 11-31: the generator cells.
  append_cell_genes(genes);
  // Genes 32-71: discriminator blocks 1-4.
  for (int b = 1; b <= 4; ++b) {
    const std::string block = "dblock" + std::to_string(b);
    const std::string module = "discriminator.block" + std::to_string(b);
    for (int c = 0; c < 7; ++c) {
      const std::string node = "c" + std::to_string(c);
      const auto& options = (b == 1 && c < 3) ? d_input_op_names() : edge_op_names();
      genes.push_back(weighted(block + "." + node, options, module + "." + node));
    }
    genes.push_back(weightless(block + ".downsample", bool_names()));
    for (const char* down : {"down0", "down1"})
      genes.push_back(weighted(block + "." + down, down_op_names(), module + "." + down));
  }
  return SearchSpace("gan_hard", std::move(genes));
}

}  // namespace pbtnas::gan
