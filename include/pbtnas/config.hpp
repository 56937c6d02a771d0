#pragma once
// RunConfig: everything a run reads from its YAML file. Unknown keys and invalid values are
// rejected with the key named and the valid range (docs/config.md lists every key).
#include <cstdint>
#include <string>

#include "pbtnas/selection.hpp"

namespace pbtnas {

enum class Algorithm { PbtNas, Mutation, Random };
const char* to_string(Algorithm a);

// Mix after the step that ends at epoch e when: every == 0, or e >= until, or e % every == 0.
// (ALGORITHM.md fn_if_mix; RL configs use every 20 until 150.) Never after the last step.
struct MixSchedule {
  int every = 0;
  int until = 0;
};

struct DataConfig {
  std::string dir = "/usr/share/datasets/fashion-mnist";  // Debian dataset-fashion-mnist
  std::string train_images = "train-images-idx3-ubyte.gz";
  std::string train_labels = "train-labels-idx1-ubyte.gz";
  std::string test_images = "t10k-images-idx3-ubyte.gz";
  std::string test_labels = "t10k-labels-idx1-ubyte.gz";
  std::int64_t train_limit = 0;  // use only the first K training images (0: all)
  std::int64_t test_limit = 0;   // use only the first K test images (0: all)
  double val_fraction = 0.1;     // held out of the training set for fitness, (0, 0.5]
};

struct ClassifyConfig {
  DataConfig data;
  int channels = 16;                    // width of the first stage (doubles per stage)
  int cells_per_stage = 2;              // searchable cells in each of the 3 stages
  int batch_size = 128;
  double lr = 1e-3;                     // AdamW
  double weight_decay = 1e-4;
  std::int64_t samples_per_epoch = 0;   // 0: one epoch = one pass over the training split
  int eval_batch_size = 1000;
};

struct CheckpointConfig {
  int keep = 2;  // committed generations kept on disk (0: keep all)
};

struct RunConfig {
  std::uint64_t seed = 31173;
  Algorithm algorithm = Algorithm::PbtNas;
  SelectionConfig selection;        // population_size, n_children, fractions
  double swap_probability = 0.25;   // replace_arch_percent
  double shrink = 0.4;              // lambda of shrink_perturb [lambda, gamma]
  double perturb = 0.1;             // gamma
  bool mix_with_itself = false;     // ablation "no mixing"
  int max_epochs = 300;
  int epochs_step = 10;
  MixSchedule mix_schedule;
  std::string task = "classify";
  ClassifyConfig classify;
  CheckpointConfig checkpoint;
  int threads_per_rank = 0;         // 0: cores on the node / ranks on the node
  std::string device = "auto";      // auto | cpu | cuda
  // Testing aid: make member `nan_member` report a NaN loss in generation `nan_generation`.
  int nan_member = -1;
  int nan_generation = -1;

  std::string source_text;          // the YAML as read, stored in every checkpoint

  int n_steps() const { return max_epochs / epochs_step; }
  // Whether to exploit after the step that ends at `next_epoch`.
  bool mix_after(int next_epoch) const;
};

// Parses and validates; `origin` names the file in error messages. Throws std::invalid_argument.
RunConfig parse_config(const std::string& yaml_text, const std::string& origin);
RunConfig load_config(const std::string& path);

}  // namespace pbtnas
