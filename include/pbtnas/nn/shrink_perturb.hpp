#pragma once
// Shrink-perturb (Ash & Adams 2020) as PBT-NAS applies it to swapped layers (docs/algorithm.md,
// "Building a child's weights", step 4; Q2): child = shrink * donor + perturb * fresh, where
// `fresh` is the same tensor of a freshly initialised network with the child's architecture (not
// Gaussian noise).
#include <torch/torch.h>

namespace pbtnas {

struct ShrinkPerturb {
  double shrink = 0.4;   // lambda: weight of the donor (parent2) tensor
  double perturb = 0.1;  // gamma: weight of the fresh initialisation
};

// Floating tensors: shrink * donor + perturb * fresh, computed in donor's dtype on donor's device.
// The ablation settings are exact: [1, 0] returns a copy of donor, [0, 1] a copy of fresh (no
// arithmetic, so the values are bit-identical). Integer and bool tensors (e.g. BatchNorm
// num_batches_tracked) are copied from donor unchanged. The result never aliases an input.
// Throws std::invalid_argument when a tensor is undefined, the shapes differ, or the two
// floating tensors have different dtypes.
torch::Tensor shrink_perturb(const torch::Tensor& donor, const torch::Tensor& fresh,
                             const ShrinkPerturb& sp);

}  // namespace pbtnas
