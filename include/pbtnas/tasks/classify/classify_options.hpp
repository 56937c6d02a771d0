#pragma once
// Options of the classification task (`classify:` section): every default here, every range in
// validate(); docs/config.md lists them. Torch-free, so that configs are checked anywhere.
#include <cstdint>
#include <string>

#include "pbtnas/core/config.hpp"

namespace pbtnas::classify {

class ConfigSection;

// docs/tasks.md, "Data formats", describes each format and its keys.
struct DataConfig {
  // idx (the default: Fashion-MNIST's IDX files) | cifar10 (the binary version's folder, in
  // `dir`) | hdf5 (datasets `images_key` and `labels_key` of the file `train` / `test`) |
  // numpy (a .npz file, or a folder of .npy files, holding `images_key`.npy and `labels_key`.npy)
  // | folder (`train` / `test` are folders root/CLASS/*.png|jpg; classes sorted by name).
  std::string format = "idx";
  std::string dir = "/usr/share/datasets/fashion-mnist";  // Debian dataset-fashion-mnist
  std::string train_images = "train-images-idx3-ubyte.gz";
  std::string train_labels = "train-labels-idx1-ubyte.gz";
  std::string test_images = "t10k-images-idx3-ubyte.gz";
  std::string test_labels = "t10k-labels-idx1-ubyte.gz";
  // Formats hdf5, numpy and folder: the training and the test data (relative to `dir` unless
  // absolute). test "" = no separate test set: `test_fraction` of the training data is held out
  // as the test set instead (chosen from the run seed, like the validation split).
  std::string train;
  std::string test;
  std::string images_key = "images";  // hdf5 dataset / numpy array names
  std::string labels_key = "labels";
  // Axis order of 4-D image arrays (hdf5, numpy): auto (channels are the axis of size <= 4, the
  // other one of H, W being larger), nhwc or nchw. 3-D arrays are N x H x W (one channel).
  std::string layout = "auto";
  double test_fraction = 0.1;    // used only without a separate test set, (0, 0.5]
  // Number of classes: 0 = from the data (folder: the class folders; otherwise the largest label
  // + 1 over training and test labels; idx and cifar10: 10, as before).
  int classes = 0;
  std::int64_t train_limit = 0;  // use only the first K training images (0: all)
  std::int64_t test_limit = 0;   // use only the first K test images (0: all)
  double val_fraction = 0.1;     // held out of the training set for fitness, (0, 0.5]
  // The normalised images are written once per node into `cache_dir` and mapped read-only by
  // every rank (tasks/node_cache.hpp); false: each rank keeps its own copy.
  bool share = true;
  std::string cache_dir;         // "" = $XDG_CACHE_HOME/pbtnas or $HOME/.cache/pbtnas
};

struct ClassifyOptions : TaskOptions {
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
  static ClassifyOptions parse(ConfigSection section);
};

}  // namespace pbtnas::classify
