#pragma once
// The built-in default task: image classification with the searchable CNN of classify_model.hpp,
// on Fashion-MNIST by default or on any image data set (IDX, CIFAR-10 binary, HDF5, NumPy, image
// folders: classify_data.hpp). docs/tasks.md describes data, search space, network, training and
// fitness.
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "pbtnas/tasks/classify/classify_options.hpp"
#include "pbtnas/tasks/classify/classify_model.hpp"
#include "pbtnas/tasks/registry.hpp"
#include "pbtnas/tasks/task.hpp"

namespace pbtnas::classify {

// Per-pixel statistics of the 60,000 Fashion-MNIST training images (pixel / 255); checked
// against the data by the test "classify: normalisation constants match the data".
inline constexpr double kFashionMnistMean = 0.2860;
inline constexpr double kFashionMnistStd = 0.3530;
inline constexpr int kClassifyClasses = 10;  // formats idx and cifar10 unless classify.data.classes says otherwise

class ClassifyTask : public Task {
 public:
  // Loads the training and test data once (cfg.data) and holds out round(val_fraction * N_train)
  // training images as the validation split (and, without a separate test set, the next
  // round(test_fraction * N_train) as the test set), chosen by a permutation drawn from
  // Rng(derive_seed(run_seed, 0, 0, Purpose::DataSplit)). Throws std::runtime_error for
  // unreadable data and std::invalid_argument for unusable settings.
  ClassifyTask(const ClassifyOptions& cfg, std::uint64_t run_seed);

  const SearchSpace& space() const override { return space_; }
  Member create(const Genome& genome, std::uint64_t init_seed, torch::Device device) const override;
  StepStats train(Member& member, int epoch_begin, int epochs, std::uint64_t seed) const override;
  double fitness(Member& member) const override;     // validation accuracy in [0, 1]
  double test_score(Member& member) const override;  // test accuracy in [0, 1]
  std::string fitness_name() const override { return "val_acc"; }
  std::vector<Metric> final_scores(double fitness, double test_score) const override {
    return {{"validation accuracy", fitness}, {"test accuracy", test_score}};
  }

  static std::int64_t parameter_count(const Member& member);

  const ClassifyOptions& config() const { return cfg_; }
  std::int64_t train_size() const { return train_rows_.size(0); }
  std::int64_t val_size() const { return val_x_.size(0); }
  std::int64_t test_size() const { return test_x_.size(0); }
  int classes() const { return classes_; }
  const std::vector<std::string>& class_names() const { return class_names_; }
  std::int64_t input_channels() const { return input_channels_; }
  std::int64_t image_height() const { return image_height_; }
  std::int64_t image_width() const { return image_width_; }
  // Indices (into the first train_limit training images) of the validation split.
  const torch::Tensor& val_indices() const { return val_index_; }

  // Accuracy on any normalised N x C x H x W float images / int64 labels (CPU tensors).
  double accuracy(Member& member, const torch::Tensor& x, const torch::Tensor& y) const;

 private:
  ClassifyOptions cfg_;
  SearchSpace space_;
  // x_all_: the normalised training images (all train_limit of them; with data.share a view of a
  // read-only mapping shared by the ranks of a node); the training split is x_all_[train_rows_].
  torch::Tensor x_all_, train_rows_, train_y_, val_x_, val_y_, test_x_, test_y_, val_index_;
  int classes_ = kClassifyClasses;
  std::vector<std::string> class_names_;
  std::int64_t input_channels_ = 1, image_height_ = 0, image_width_ = 0;
};

// The registry entry of task `classify` (section `classify:`).
TaskEntry classify_task_entry();
// `pbtnas export` of a member (TaskEntry::export_member, tasks/export.hpp): the classifier.
ExportedNetwork export_classifier(const TaskOptions& options, const Genome& genome, const NamedState& state,
                                  int examples);

}  // namespace pbtnas::classify
