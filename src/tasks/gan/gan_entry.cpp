#include "pbtnas/tasks/gan/gan_entry.hpp"

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "pbtnas/core/config_section.hpp"
#include "pbtnas/tasks/gan/features.hpp"
#include "pbtnas/tasks/gan/gan_spaces.hpp"
#include "pbtnas/util/files.hpp"

namespace pbtnas::gan {

std::string feature_cache_dir(const GanOptions& cfg) {
  if (!cfg.features.cache_dir.empty()) return cfg.features.cache_dir;
  return default_cache_dir("gan.features.cache_dir");  // util/files.hpp: names the key when it throws
}

std::shared_ptr<FeatureNet> make_feature_net(const GanOptions& cfg, const GanData& data,
                                             torch::Device device, Logger* log) {
  if (!cfg.features.torchscript.empty())
    return std::make_shared<TorchScriptFeatures>(cfg.features.torchscript, device);
  ClassifierFeaturesConfig c;
  c.epochs = cfg.features.classifier_epochs;
  // The labelled images: all of them, or the first ones (STL-10: train_X.bin's).
  const torch::Tensor labelled = data.labels.defined() && data.labels.size(0) < data.images.size(0)
                                     ? data.images.slice(0, 0, data.labels.size(0))
                                     : data.images;
  // Hashed once per worker: the cache file's name and the check of its contents use it.
  const std::uint64_t fp = ClassifierFeatures::fingerprint(labelled, data.labels, data.n_classes, c);
  c.cache_path = (std::filesystem::path(feature_cache_dir(cfg)) / ClassifierFeatures::cache_file_name(cfg.dataset, fp))
                     .string();
  auto say = [log](const std::string& line) {
    if (log) log->info("[rank " + std::to_string(log->rank()) + "] " + line);
  };
  // Only one process trains the classifier (the others wait on its lock), so it may use every
  // core of the node for that one-off job; the worker's own thread count is restored afterwards.
  const int threads = torch::get_num_threads();
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(std::max(threads, cores));
  try {
    auto net = ClassifierFeatures::load_or_train(c, labelled, data.labels, data.n_classes, device, say, fp);
    torch::set_num_threads(threads);
    return net;
  } catch (...) {
    torch::set_num_threads(threads);
    throw;
  }
}

TaskEntry gan_task_entry() {
  TaskEntry e;
  e.name = "gan";
  e.fitness_label = "-FID";
  e.parse = [](ConfigSection s) -> std::shared_ptr<const TaskOptions> {
    return std::make_shared<GanOptions>(GanOptions::parse(std::move(s)));
  };
  e.space = [](const TaskOptions& o) {
    return gan_space_kind(options_as<GanOptions>(o, "gan").space) == GanSpaceKind::Easy ? gan_easy_space()
                                                                                          : gan_hard_space();
  };
  e.make = [](const TaskOptions& o, const TaskContext& ctx) -> std::unique_ptr<Task> {
    GanOptions cfg = options_as<GanOptions>(o, "gan");
    GanData data = load_gan_data(cfg);
    auto features = make_feature_net(cfg, data, ctx.device, ctx.log);
    auto task = std::make_unique<GanTask>(std::move(cfg), ctx.run_seed, std::move(features), std::move(data));
    task->add_hyper_genes(ctx.hyperparameters);
    return task;
  };
  e.hyperparameter_names = [](const TaskOptions&) { return std::vector<std::string>{"beta1", "d_lr", "g_lr"}; };
  e.final_metric_names = [](const TaskOptions& o) {  // GanTask::final_metrics (IS: when the network has logits)
    if (options_as<GanOptions>(o, "gan").final_fid_samples == 0) return std::vector<std::string>{};
    return std::vector<std::string>{"fid", "fid_samples", "inception_score", "inception_score_std"};
  };
  e.export_member = export_generator;
  e.bench = gan_bench();
  return e;
}

}  // namespace pbtnas::gan
