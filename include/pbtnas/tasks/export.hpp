#pragma once
// What a task gives `pbtnas export` (docs/export.md) for one member: its network as tensors that
// plain PyTorch loads, fixed example inputs with the task's own outputs, and the settings that
// rebuild the network. A task offers it through TaskEntry::export_member (registry.hpp); the
// command writes the files and knows no task.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "pbtnas/nn/named_state.hpp"

namespace pbtnas {

struct ExportedNetwork {
  std::string network;                // what model.pt holds, in a word: "classifier", "generator"
  NamedState model;                   // -> model.pt
  NamedState extra;                   // -> extra_file (empty: none)
  std::string extra_file;             // e.g. "discriminator.pt"
  std::string extra_description;      // its line in architecture.json "files"
  torch::Tensor input, output;        // -> example.pt: fixed inputs, the network's outputs (eval mode)
  nlohmann::ordered_json model_json;  // "model" of architecture.json: the settings that rebuild it
};

// The seed of the example inputs (the same for every export).
inline constexpr std::uint64_t kExportExampleSeed = 20231;

// The member's "model." tensors into `net`, built from the run's config. Throws
// std::invalid_argument with the fix when they do not fit (a config of other network sizes).
void load_exported_model(torch::nn::Module& net, const NamedState& state);

}  // namespace pbtnas
