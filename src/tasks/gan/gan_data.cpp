// The GAN task's data: Fashion-MNIST or CIFAR-10 as N x C x 32 x 32 images in [-1, 1], STL-10
// (train+unlabeled) as N x 3 x 48 x 48.
#include "pbtnas/tasks/gan/gan_task.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <functional>
#include <limits>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "gan_task_internal.hpp"
#include "pbtnas/core/seed.hpp"
#include "pbtnas/nn/named_state.hpp"
#include "pbtnas/tasks/cifar10.hpp"
#include "pbtnas/tasks/gan/gan_spaces.hpp"
#include "pbtnas/tasks/idx.hpp"
#include "pbtnas/tasks/image_grid.hpp"
#include "pbtnas/tasks/node_cache.hpp"
#include "pbtnas/tasks/stl10.hpp"
#include "pbtnas/tasks/gan/gan_entry.hpp"

namespace pbtnas::gan {

using namespace detail;
namespace F = torch::nn::functional;

namespace {
// The training images in [-1, 1], once per node when gan.share_data (docs/performance.md,
// "Memory per rank"), in the features' cache folder.
// Node-local scratch unless gan.features.cache_dir names a folder (docs/slurm.md, "Multiple nodes").
std::string shared_images_dir(const GanOptions& cfg) {
  return cfg.features.cache_dir.empty() ? node_scratch_dir("gan.features.cache_dir") : cfg.features.cache_dir;
}

torch::Tensor shared_images(const GanOptions& cfg, const std::string& name, const std::vector<std::string>& files,
                            std::int64_t n, const std::function<torch::Tensor()>& compute) {
  if (!cfg.share_data) return compute();
  const std::string dir = shared_images_dir(cfg);
  const std::string file = "pbtnas-gan-" + name + "-" +
                           cache_fingerprint({"gan-images-v1", std::to_string(cfg.train_limit)}, files) + ".tensor";
  torch::Tensor x = node_shared_tensor(dir, file, compute);
  if (x.dim() != 4 || x.size(0) != n)
    throw std::runtime_error("gan task: the cached images " + dir + "/" + file + " do not match the data set; delete the file");
  return x;
}
}  // namespace

std::vector<std::string> gan_image_files(const GanOptions& cfg) {
  if (cfg.dataset == "fashion_mnist") return {join_path(cfg.data_dir, cfg.train_images)};
  std::vector<std::string> files;
  if (cfg.dataset == "cifar10")
    for (int b = 1; b <= 5; ++b) files.push_back(join_path(cfg.data_dir, "data_batch_" + std::to_string(b) + ".bin"));
  if (cfg.dataset == "stl10") files = stl10_train_unlabeled_paths(cfg.data_dir);
  return files;
}

GanData load_gan_data(const GanOptions& cfg) {
  GanData data;
  torch::Tensor raw;  // uint8 N x C x 32 x 32 (CIFAR-10) or N x 28 x 28 (Fashion-MNIST)
  std::string origin;
  if (cfg.dataset == "fashion_mnist") {
    const std::string images_path = join_path(cfg.data_dir, cfg.train_images);
    const std::string labels_path = join_path(cfg.data_dir, cfg.train_labels);
    // The pixels are decompressed only when needed: without sharing, or when this node's cache of
    // the scaled images is cold (docs/performance.md, "Start-up").
    IdxImages train = read_idx_images(images_path, labels_path, cfg.train_limit, /*pixels=*/!cfg.share_data);
    if (train.shape[1] != 28 || train.shape[2] != 28)
      throw std::runtime_error("gan task: " + images_path + " holds " + std::to_string(train.shape[1]) + " x " +
                               std::to_string(train.shape[2]) +
                               " images; the task expects 28 x 28 (Fashion-MNIST), padded to 32");
    // [0, 255] -> [-1, 1], then 2 px of -1 on each side: N x 1 x 32 x 32.
    data.images = shared_images(cfg, "fmnist", gan_image_files(cfg), train.shape[0], [&] {
      if (!train.images.defined()) train.images = read_idx(images_path, kIdxImagesMagic, cfg.train_limit).data;
      return F::pad(train.images.to(torch::kFloat32).div_(127.5).sub_(1.0).unsqueeze(1),
                    F::PadFuncOptions({2, 2, 2, 2}).value(-1.0))
          .contiguous();
    });
    data.labels = train.labels.to(torch::kInt64);
    origin = images_path;
  } else if (cfg.dataset == "cifar10") {
    Cifar10Data train = read_cifar10_train(cfg.data_dir, cfg.train_limit);
    data.images = shared_images(cfg, "cifar10", gan_image_files(cfg), train.images.size(0), [&] {
      return train.images.to(torch::kFloat32).div_(127.5).sub_(1.0).contiguous();
    });
    data.labels = train.labels.to(torch::kInt64);
    origin = cfg.data_dir;
  } else if (cfg.dataset == "stl10") {
    // train+unlabeled (train_X.bin then unlabeled_X.bin, as torchvision's STL10), resized 96 -> 48
    // as Pillow's bilinear resize does (torchvision Resize on PIL images), then u / 127.5 - 1.
    // Counted from the file sizes, so that a node whose cache already holds the resized images
    // reads none of the 2.9 GB of originals.
    const std::vector<std::string> files = gan_image_files(cfg);
    const std::int64_t side = std::int64_t{cfg.model.bottom_width} * 8;
    const std::int64_t n = count_stl10_images(files, cfg.train_limit);
    data.images = shared_images(cfg, "stl10-" + std::to_string(side), files, n, [&] {
      return read_stl10_scaled(files, side, cfg.train_limit);
    });
    if (data.images.size(2) != side)
      throw std::runtime_error("gan task: the cached STL-10 images are not " + std::to_string(side) +
                               " px; delete the pbtnas-gan-stl10-* files of " + shared_images_dir(cfg));
    // Labels exist for train_X.bin only: they label the first images, for the built-in feature
    // classifier (none needed with a TorchScript feature network).
    if (cfg.features.torchscript.empty()) {
      const std::string labels_path = stl10_train_labels_path(cfg.data_dir);
      const std::int64_t n_train = count_stl10_images({files[0]}, cfg.train_limit);
      try {
        data.labels = read_stl10_labels(labels_path, n_train).to(torch::kInt64);
      } catch (const std::runtime_error& e) {
        throw std::runtime_error(std::string(e.what()) +
                                 " (the labels train the built-in FID classifier; with gan.features.torchscript "
                                 "set they are not needed)");
      }
    } else {
      data.labels = torch::empty({0}, torch::kInt64);
    }
    origin = cfg.data_dir;
  } else {
    throw std::invalid_argument("gan task: unknown dataset '" + cfg.dataset +
                                "'; valid: fashion_mnist, cifar10, stl10");
  }
  if (data.images.size(0) < 2)
    throw std::runtime_error("gan task: " + origin + " holds fewer than 2 images");
  data.n_classes = 10;
  release_free_heap();  // the decoded files' buffers (tasks/node_cache.hpp)
  return data;
}


}  // namespace pbtnas::gan
