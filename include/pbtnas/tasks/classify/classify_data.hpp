#pragma once
// The classification task's data in any supported format (classify.data.format; docs/tasks.md,
// "Data formats"), before normalisation, and its input normalisation.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "pbtnas/tasks/classify/classify_options.hpp"

namespace pbtnas::classify {

struct ClassifyData {
  torch::Tensor train_x, test_x;         // N x C x H x W, uint8 (pixels 0..255) or float32 (as stored)
  torch::Tensor train_y, test_y;         // int64 labels in [0, classes)
  bool separate_test = true;             // false: no test set given (test_x / test_y undefined)
  int classes = 0;
  std::vector<std::string> class_names;  // folder format (else "0", "1", ...)
  std::vector<std::string> train_inputs, test_inputs;  // files read (for cache fingerprints)
  std::string train_origin, test_origin;               // images, for messages ("FILE" or "FILE:DATASET")
  std::string train_labels_origin, test_labels_origin; // labels, for messages
  // Format idx read with pixels = false: train_x / test_x hold the images' shape only (a
  // zero-stride placeholder, every pixel 0), and these read the pixels when they are needed, i.e.
  // when the node's cache of the normalised images is cold (docs/performance.md, "Start-up").
  // Null when train_x / test_x hold the pixels.
  std::function<torch::Tensor()> read_train_x, read_test_x;
};

// Reads train and test data as the config says. Throws std::runtime_error naming the file, the
// problem and the fix: unreadable or malformed files, image and label counts that differ, labels
// out of range, train and test images of different shapes, an empty class or image folder.
// pixels false: format idx reads the images' headers only (see read_train_x); other formats
// ignore it.
ClassifyData load_classify_data(const DataConfig& d, bool pixels = true);

// How pixels become network inputs: x' = (x * scale - mean[c]) / std[c].
struct InputNormalisation {
  double scale = 1.0;                // 1/255 for uint8 images, 1 for float images
  std::vector<double> mean, std;     // one per channel
  bool fixed = false;                // true: the Fashion-MNIST constants of format idx
};

// Format idx: the fixed Fashion-MNIST constants (one channel). Every other format: the mean and
// standard deviation per channel of all training images read (train_limit), computed once; with
// `cache_dir` non-empty they are cached there (node_shared_tensor) under a name that changes with
// the inputs. A channel of zero spread gets std 1.
InputNormalisation input_normalisation(const DataConfig& d, const ClassifyData& data, const std::string& cache_dir);

// (images * scale - mean) / std as float32 N x C x H x W.
torch::Tensor normalise_images(const torch::Tensor& images, const InputNormalisation& n);

}  // namespace pbtnas::classify
