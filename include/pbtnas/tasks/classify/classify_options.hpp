#pragma once
// Options of the classification task (`classify:` section): every default here, every range in
// validate(); docs/config.md lists them. Torch-free, so that configs are checked anywhere.
#include <cstdint>
#include <string>

#include "pbtnas/core/config.hpp"

namespace pbtnas {

class ConfigSection;

struct DataConfig {
  std::string dir = "/usr/share/datasets/fashion-mnist";  // Debian dataset-fashion-mnist
  std::string train_images = "train-images-idx3-ubyte.gz";
  std::string train_labels = "train-labels-idx1-ubyte.gz";
  std::string test_images = "t10k-images-idx3-ubyte.gz";
  std::string test_labels = "t10k-labels-idx1-ubyte.gz";
  std::int64_t train_limit = 0;  // use only the first K training images (0: all)
  std::int64_t test_limit = 0;   // use only the first K test images (0: all)
  double val_fraction = 0.1;     // held out of the training set for fitness, (0, 0.5]
  // The normalised images are written once per node into `cache_dir` and mapped read-only by
  // every rank (tasks/node_cache.hpp); false: each rank keeps its own copy.
  bool share = true;
  std::string cache_dir;         // "" = $XDG_CACHE_HOME/pbtnas or $HOME/.cache/pbtnas
};

struct ClassifyConfig : TaskOptions {
  DataConfig data;
  int channels = 16;                    // width of the first stage (doubles per stage)
  int cells_per_stage = 2;              // searchable cells in each of the 3 stages
  int batch_size = 128;
  double lr = 1e-3;                     // AdamW
  double weight_decay = 1e-4;
  std::int64_t samples_per_epoch = 0;   // 0: one epoch = one pass over the training split
  int eval_batch_size = 1000;

  // Throws std::invalid_argument "'classify.<key>' = v is out of range; expected ...".
  void validate() const;
  // Reads the `classify:` section (absent: all defaults) and validates it.
  static ClassifyConfig parse(ConfigSection section);
};

}  // namespace pbtnas
