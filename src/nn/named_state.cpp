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

std::size_t state_bytes(const NamedState& state) {
  std::size_t n = 0;
  for (const auto& nt : state)
    if (nt.tensor.defined()) n += nt.tensor.numel() * nt.tensor.element_size();
  return n;
}

}  // namespace pbtnas
