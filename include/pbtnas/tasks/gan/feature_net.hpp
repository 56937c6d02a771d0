#pragma once
// The feature network behind FID and IS (docs/algorithm.md, "GAN fitness and final evaluation").
// Implementations:
//   RandomProjectionFeatures (test/support)  a fixed random projection; a test stand-in only
//   TorchScriptFeatures      (features.hpp)  a TorchScript file, e.g. the usual FID Inception
//   ClassifierFeatures       (features.hpp)  a classifier trained on the data set itself, cached
// docs/gan.md, section "Feature networks", says which numbers are comparable to what.
#include <string>
#include <utility>

#include <torch/torch.h>

namespace pbtnas::gan {

class FeatureNet {
 public:
  virtual ~FeatureNet() = default;
  // images: N x C x H x W float images in [-1, 1] on any device (C = the data set's channels).
  // Returns N x D float features (any device). Must be deterministic.
  virtual torch::Tensor features(const torch::Tensor& images_in_minus1_1) const = 0;
  // Features and N x K class logits (for the Inception Score) from one forward pass. The default
  // returns an undefined logits tensor: such a network gives no IS.
  virtual std::pair<torch::Tensor, torch::Tensor> features_and_logits(
      const torch::Tensor& images_in_minus1_1) const {
    return {features(images_in_minus1_1), torch::Tensor()};
  }
  // Short human-readable description for logs and summaries, e.g. "classifier (128-d, cached
  // in /data/x.pt)" or "torchscript inception.pt (2048-d)".
  virtual std::string describe() const = 0;
  // What identifies this network's outputs in caches of things computed with it (the reference
  // statistics of FID): the real networks return their description, which names their weights'
  // file; the default, empty, means "do not cache" (test stand-ins).
  virtual std::string cache_key() const { return ""; }
};

}  // namespace pbtnas::gan
