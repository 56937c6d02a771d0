#pragma once
// Options of the GAN task (`gan:` section): every default here (the paper's CIFAR-10 settings,
// except the data set: Fashion-MNIST is the built-in default; STL-10's settings are set by
// jobs/configs/stl10_ganhard.yaml), every range in validate();
// docs/config.md and docs/gan.md describe them. Torch-free, so that configs are checked anywhere.
#include <cstdint>
#include <string>

#include "pbtnas/core/config.hpp"

namespace pbtnas {
class ConfigSection;
}

namespace pbtnas::gan {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct GanModelConfig {
  int gf_dim = 256;        // generator width
  int df_dim = 128;        // discriminator width
  int latent_dim = 120;    // z dimension (divisible by 3 for the 'part' projections)
  int bottom_width = 4;    // projection 0 width; images are bottom_width * 8 square (STL-10: 6 -> 48)
  int image_channels = 3;  // RGB
  // GanEasy only: the STL-10 projections of the released code (`if_stl_projections`): z[0:L/2] ->
  // Linear -> bottom_width^2 (cell1's input), z[L/2:L] -> Linear -> (2 bottom_width)^2 (added to
  // cell1's output), no third projection. false: the three 'part_target' projections.
  bool stl_projections = false;
  // true: the GanHard D block returns branch 1 alone whenever it exists (the released code's
  // bug, docs/algorithm.md); false: it returns branch 1 + branch 2 (the evident intent).
  bool faithful_d_block = true;
};

// Throws std::invalid_argument naming the field when a width is out of range, latent_dim is not
// a multiple of 3 (nor even with stl_projections) or bottom_width < 2 (projection 0's 'prev'
// width is bottom_width / 2).
void validate_model_config(const GanModelConfig& cfg);

struct GanFeaturesConfig {
  std::string torchscript;       // a TorchScript feature network (e.g. the FID Inception); "" = none
  std::string cache_dir;         // where the built-in classifier is cached; "": $XDG_CACHE_HOME/pbtnas or ~/.cache/pbtnas
                                 // (or the user cache folder when the data folder is read-only)
  int classifier_epochs = 2;     // training epochs of the built-in classifier
};

struct GanOptions : TaskOptions {
  GanModelConfig model;              // image_channels must match the data, bottom_width * 8 = image side
  std::string space = "gan_hard";    // "gan_easy" or "gan_hard"
  // "fashion_mnist" (IDX files, 32 x 32 x 1), "cifar10" (binary batches, 32 x 32 x 3) or "stl10"
  // (binary files, train+unlabeled resized to 48 x 48 x 3)
  std::string dataset = "fashion_mnist";
  std::string data_dir = kFashionMnistDir;  // cifar10: the cifar-10-batches-bin folder; stl10: stl10_binary
  std::string train_images = "train-images-idx3-ubyte.gz",  // fashion_mnist only
              train_labels = "train-labels-idx1-ubyte.gz";
  std::int64_t train_limit = 0;      // > 0: use only the first train_limit training images
  // The scaled, padded images are written once per node into the features' cache folder and
  // mapped read-only by every rank (tasks/node_cache.hpp); false: each rank keeps its own copy.
  bool share_data = true;
  int d_batch = 40;                  // real (and fake) batch of a D step
  int g_batch_multiplier = 2;        // a G step uses g_batch_multiplier * d_batch samples
  int n_critic = 5;                  // G step on iterations i % n_critic == 0 (i from 0 per epoch)
  double lr = 2e-4;
  double beta1 = 0.0, beta2 = 0.9, eps = 1e-4;
  double ema_decay = 0.999;
  std::int64_t iterations_per_epoch = 0;  // 0: one pass over the data with d_batch
  int fid_samples = 5000;            // generated images per FID (fitness)
  // Latents of the fitness FID (docs/algorithm.md, "GAN fitness and final evaluation"):
  // "fresh" draws new ones for every member and generation, from the step's training seed, as
  // the released code does; "fixed" scores every member of every generation on one set.
  std::string fid_latents = "fresh";
  std::int64_t reference_samples = 0;  // training images behind the reference statistics (the
                                       // first K; 0: all, as clean-fid's training-set statistics)
  int eval_batch_size = 250;         // generation / feature batch during evaluation
  int final_fid_samples = 50000;     // final evaluation of the best-ever member (0: skip it)
  int is_splits = 10;                // Inception Score splits (final evaluation)
  int grid_samples = 64;             // images per sample grid (0: no grids)
  GanFeaturesConfig features;        // the FID/IS feature network (registry.cpp builds it)

  // Throws std::invalid_argument "'gan.<key>' = v is out of range; expected ...".
  void validate() const;
  // Reads the `gan:` section (absent: all defaults): data_dir "" means the data set's default
  // folder (cifar10 and stl10 have none: an error), image_channels and bottom_width follow the
  // data set (stl10: 3 and 6, i.e. 48 x 48), stl_projections defaults to true for stl10 with
  // gan_easy (as the released STL GanEasy config) and false otherwise. Validates the result.
  static GanOptions parse(ConfigSection section);
};

}  // namespace pbtnas::gan
