#pragma once
// The GAN task's registry entry and the pieces it assembles: the options, the training data and
// the FID/IS feature network.
#include <memory>
#include <string>

#include <torch/torch.h>

#include "pbtnas/tasks/gan/feature_net.hpp"
#include "pbtnas/tasks/gan/gan_task.hpp"
#include "pbtnas/core/log.hpp"
#include "pbtnas/tasks/registry.hpp"

namespace pbtnas::gan {

TaskEntry gan_task_entry();

// `pbtnas export` of a member (TaskEntry::export_member, tasks/export.hpp): the EMA generator.
ExportedNetwork export_generator(const TaskOptions& options, const Genome& genome, const NamedState& state,
                                 int examples);

// Where the built-in classifier is cached: features.cache_dir when set; else
// $XDG_CACHE_HOME/pbtnas, or ~/.cache/pbtnas (never the data folder, which may belong to a
// package). Throws std::invalid_argument when none of them is known.
std::string feature_cache_dir(const GanOptions& cfg);

// The FID/IS feature network of cfg.features: the TorchScript file when one is named, else the
// built-in classifier, trained on `data` once and cached (docs/gan.md).
std::shared_ptr<FeatureNet> make_feature_net(const GanOptions& cfg, const GanData& data,
                                             torch::Device device, Logger* log);

}  // namespace pbtnas::gan
