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

// `gan:` section (task: gan). Mapped onto the GAN task's own config by the task registry;
// docs/config.md and docs/gan.md describe every key. Defaults are the paper's CIFAR-10 settings
// except the data set (Fashion-MNIST, the built-in default).
struct GanFeaturesConfig {
  std::string torchscript;       // a TorchScript feature network (e.g. the FID Inception); "" = none
  std::string cache_dir;         // where the built-in classifier is cached; "" = next to the data
                                 // (or the user cache folder when the data folder is read-only)
  int classifier_epochs = 2;     // training epochs of the built-in classifier
};

struct GanConfig {
  std::string dataset = "fashion_mnist";                  // fashion_mnist | cifar10
  std::string data_dir;                                   // "" = the data set's default folder
  std::int64_t train_limit = 0;                           // use only the first K images (0: all)
  std::string space = "gan_hard";                         // gan_easy | gan_hard
  int gf_dim = 256;
  int df_dim = 128;
  int latent_dim = 120;
  bool faithful_d_block = true;                           // B1 as released (see docs/gan.md)
  int d_batch = 40;
  int g_batch_multiplier = 2;
  int n_critic = 5;
  double lr = 2e-4;
  double beta1 = 0.0, beta2 = 0.9, eps = 1e-4;
  double ema_decay = 0.999;
  std::int64_t iterations_per_epoch = 0;                  // 0: one pass over the data
  int fid_samples = 5000;                                 // per fitness evaluation
  std::int64_t reference_samples = 0;                     // training images for the reference
                                                          // statistics (0: all)
  int final_fid_samples = 50000;                          // best-ever member, after the search
  int is_splits = 10;
  int eval_batch_size = 250;
  int grid_samples = 64;                                  // per sample grid (0: no grids)
  GanFeaturesConfig features;
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
  GanConfig gan;
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
