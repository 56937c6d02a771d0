#include "pbtnas/nn/named_state.hpp"

#include <stdexcept>
#include <unordered_map>

namespace pbtnas {
namespace {

void collect(const torch::nn::Module& module, const std::string& prefix, NamedState& out) {
  for (const auto& p : module.named_parameters(/*recurse=*/false)) out.push_back({prefix + p.key(), p.value()});
  for (const auto& b : module.named_buffers(/*recurse=*/false)) out.push_back({prefix + b.key(), b.value()});
  for (const auto& c : module.named_children()) collect(*c.value(), prefix + c.key() + ".", out);
}

}  // namespace

NamedState module_state(const torch::nn::Module& module, const std::string& prefix) {
  NamedState out;
  collect(module, prefix, out);
  return out;
}

void load_module_state(torch::nn::Module& module, const NamedState& state, const std::string& prefix) {
  std::unordered_map<std::string, const torch::Tensor*> given;
  for (const auto& nt : state)
    if (nt.name.compare(0, prefix.size(), prefix) == 0) given.emplace(nt.name, &nt.tensor);
  const NamedState live = module_state(module, prefix);
  if (given.size() != live.size()) {
    std::unordered_map<std::string, bool> expected;
    for (const auto& nt : live) expected.emplace(nt.name, true);
    for (const auto& kv : given)
      if (!expected.count(kv.first))
        throw std::runtime_error("load_module_state: unexpected tensor '" + kv.first +
                                 "' (the module has no such parameter or buffer; was the state made for "
                                 "another architecture?)");
  }
  torch::NoGradGuard no_grad;
  for (const auto& nt : live) {
    auto it = given.find(nt.name);
    if (it == given.end())
      throw std::runtime_error("load_module_state: tensor '" + nt.name +
                               "' is missing from the state (the state was made for another architecture)");
    const torch::Tensor& src = *it->second;
    if (src.sizes() != nt.tensor.sizes() || src.scalar_type() != nt.tensor.scalar_type())
      throw std::runtime_error("load_module_state: tensor '" + nt.name + "' has shape " +
                               c10::str(src.sizes()) + " " + std::string(c10::toString(src.scalar_type())) +
                               " but the module expects " + c10::str(nt.tensor.sizes()) + " " +
                               std::string(c10::toString(nt.tensor.scalar_type())));
    torch::Tensor dst = nt.tensor;  // shares storage with the module's tensor
    dst.copy_(src);
  }
}

const torch::Tensor* find_tensor(const NamedState& state, const std::string& name) {
  for (const auto& nt : state)
    if (nt.name == name) return &nt.tensor;
  return nullptr;
}

NamedState snapshot_cpu(const NamedState& state) {
  NamedState out;
  out.reserve(state.size());
  for (const auto& nt : state)
    out.push_back({nt.name, nt.tensor.detach().to(torch::kCPU, /*non_blocking=*/false, /*copy=*/true).contiguous()});
  return out;
}

torch::Tensor storage_view(const torch::Tensor& block, std::uint64_t byte_offset, torch::ScalarType dtype,
                           c10::IntArrayRef shape) {
  const std::uint64_t elem = c10::elementSize(dtype);
  std::uint64_t n = elem;
  for (const std::int64_t d : shape) {
    if (d < 0) throw std::invalid_argument("storage_view: negative extent");
    n *= static_cast<std::uint64_t>(d);
  }
  const std::uint64_t have = static_cast<std::uint64_t>(block.numel()) * block.element_size();
  // The block's own offset into its storage, in bytes, is added to ours.
  const std::uint64_t base = static_cast<std::uint64_t>(block.storage_offset()) * block.element_size();
  if (!block.device().is_cpu() || !block.is_contiguous() || (base + byte_offset) % elem != 0 || byte_offset > have ||
      n > have - byte_offset)
    throw std::invalid_argument("storage_view: " + std::to_string(n) + " bytes at offset " + std::to_string(byte_offset) +
                                " do not fit the " + std::to_string(have) + "-byte block (or the block is not "
                                "contiguous CPU memory, or the offset is not aligned to the dtype)");
  auto impl = c10::make_intrusive<c10::TensorImpl>(c10::Storage(block.storage()), c10::DispatchKeySet(c10::DispatchKey::CPU),
                                                   caffe2::TypeMeta::fromScalarType(dtype));
  impl->set_sizes_contiguous(shape);
  impl->set_storage_offset(static_cast<std::int64_t>((base + byte_offset) / elem));
  return torch::Tensor(std::move(impl));
}

std::size_t state_bytes(const NamedState& state) {
  std::size_t n = 0;
  for (const auto& nt : state)
    if (nt.tensor.defined()) n += nt.tensor.numel() * nt.tensor.element_size();
  return n;
}

}  // namespace pbtnas
