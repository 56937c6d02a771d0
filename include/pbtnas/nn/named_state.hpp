#pragma once
// Named tensors in PyTorch state_dict order: for each module, its own parameters, then its own
// buffers, then its children recursively, with dotted names ("cells.3.conv.weight").
// A NamedState is the unit that is snapshotted, transferred, shrink-perturbed and checkpointed.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace pbtnas {

struct NamedTensor {
  std::string name;
  torch::Tensor tensor;
};
using NamedState = std::vector<NamedTensor>;

// The module's parameters and buffers in state_dict order, each name prefixed by `prefix`
// (e.g. "model."). The tensors are the live ones (not copies).
NamedState module_state(const torch::nn::Module& module, const std::string& prefix = "");

// Copies `state` (names as produced by module_state with the same prefix) into the module's
// tensors. Every tensor of the module must be present with the same shape and dtype, and no
// extra name may be present; otherwise throws std::runtime_error naming the tensor.
void load_module_state(torch::nn::Module& module, const NamedState& state,
                       const std::string& prefix = "");

// Lookup by exact name; nullptr when absent.
const torch::Tensor* find_tensor(const NamedState& state, const std::string& name);

// Deep copy to contiguous CPU tensors (a snapshot that later training cannot change).
NamedState snapshot_cpu(const NamedState& state);

// A contiguous CPU tensor of `dtype` and `shape` over the bytes of `block` (a contiguous CPU
// tensor) from `byte_offset`, sharing (and keeping alive) its storage. Built directly, without
// LibTorch's dispatcher: a received payload has one per small tensor, where from_blob or
// narrow().view() would cost microseconds each. The offset must be a multiple of dtype's size
// and the bytes must lie inside the block; otherwise std::invalid_argument.
torch::Tensor storage_view(const torch::Tensor& block, std::uint64_t byte_offset, torch::ScalarType dtype,
                           c10::IntArrayRef shape);

// Total payload bytes.
std::size_t state_bytes(const NamedState& state);

}  // namespace pbtnas
