#pragma once
// A test stand-in for the FID feature network (not part of the library).
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "pbtnas/tasks/gan/feature_net.hpp"

namespace pbtnas::gan {

namespace F = torch::nn::functional;

// A TEST STAND-IN, NOT A MEANINGFUL FID: a fixed random projection (conv 5x5 stride 2 padding
// 2 with `dim` output channels, weights N(0, 1/(in_channels*25)) from a local generator seeded
// with `seed`, then tanh and global average pooling) -> N x dim. Numbers computed with it are
// not comparable to clean-fid's Inception FID.
class RandomProjectionFeatures : public FeatureNet {
 public:
  RandomProjectionFeatures(int dim, std::uint64_t seed, int in_channels = 1);
  torch::Tensor features(const torch::Tensor& images_in_minus1_1) const override;
  std::string describe() const override;

 private:
  torch::Tensor weight_;  // CPU, dim x in_channels x 5 x 5
  torch::Tensor bias_;    // CPU, dim
};


inline RandomProjectionFeatures::RandomProjectionFeatures(int dim, std::uint64_t seed, int in_channels) {
  if (dim < 1 || in_channels < 1)
    throw std::invalid_argument("RandomProjectionFeatures: dim and in_channels must be >= 1");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  weight_ = at::normal(0.0, 1.0 / std::sqrt(25.0 * in_channels), {dim, in_channels, 5, 5}, gen);
  bias_ = at::normal(0.0, 0.1, {dim}, gen);
}

inline torch::Tensor RandomProjectionFeatures::features(const torch::Tensor& images) const {
  if (images.dim() != 4 || images.size(1) != weight_.size(1))
    throw std::invalid_argument("RandomProjectionFeatures: expected N x " +
                                std::to_string(weight_.size(1)) + " x H x W images");
  torch::NoGradGuard no_grad;
  const torch::Tensor x = images.to(torch::kFloat32);
  const torch::Tensor h = F::conv2d(x, weight_.to(x.device()), F::Conv2dFuncOptions()
                                                                   .bias(bias_.to(x.device()))
                                                                   .stride(2)
                                                                   .padding(2));
  return torch::tanh(h).mean({2, 3});
}

inline std::string RandomProjectionFeatures::describe() const {
  return "random projection (" + std::to_string(weight_.size(0)) +
         "-d; a test stand-in, not a meaningful FID)";
}


}  // namespace pbtnas::gan
