#pragma once
// Tasks by name (RunConfig::task). The coordinator needs only the search space; workers build
// the whole task (which loads data and, for the GAN task, its feature network).
#include <memory>

#include <torch/torch.h>

#include "pbtnas/config.hpp"
#include "pbtnas/gan/gan_task.hpp"
#include "pbtnas/log.hpp"
#include "pbtnas/search_space.hpp"
#include "pbtnas/tasks/task.hpp"

namespace pbtnas {

SearchSpace task_space(const RunConfig& cfg);
// `log` (may be null) receives progress lines, e.g. while the GAN feature classifier trains.
std::unique_ptr<Task> make_task(const RunConfig& cfg, torch::Device device = torch::kCPU,
                                Logger* log = nullptr);

// The GAN task's settings from the `gan:` section (widths, image channels from the data set).
gan::GanTaskConfig gan_task_config(const RunConfig& cfg);
// The FID/IS feature network of cfg.gan.features: the TorchScript file when one is named, else
// the built-in classifier, trained on `data` once and cached (see docs/gan.md).
std::shared_ptr<gan::FeatureNet> make_feature_net(const RunConfig& cfg, const gan::GanData& data,
                                                  torch::Device device, Logger* log);
// Where the built-in classifier is cached: gan.features.cache_dir when set; else the data folder
// when writable; else $XDG_CACHE_HOME/pbtnas (or ~/.cache/pbtnas).
std::string feature_cache_dir(const RunConfig& cfg);

}  // namespace pbtnas
