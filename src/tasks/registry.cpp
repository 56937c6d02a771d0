#include "pbtnas/tasks/registry.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>
#include <algorithm>

#include "pbtnas/gan/features.hpp"
#include "pbtnas/gan/gan_spaces.hpp"
#include "pbtnas/tasks/classify.hpp"

namespace pbtnas {

SearchSpace task_space(const RunConfig& cfg) {
  if (cfg.task == "classify") return ClassifyTask::space_for(cfg.classify);
  if (cfg.task == "gan")
    return gan::gan_space_kind(cfg.gan.space) == gan::GanSpaceKind::Easy ? gan::gan_easy_space()
                                                                        : gan::gan_hard_space();
  throw std::invalid_argument("unknown task '" + cfg.task + "'; valid tasks: classify, gan");
}

gan::GanTaskConfig gan_task_config(const RunConfig& cfg) {
  const GanConfig& g = cfg.gan;
  gan::GanTaskConfig t;
  t.space = g.space;
  t.dataset = g.dataset;
  if (g.dataset == "fashion_mnist") {
    t.data_dir = g.data_dir.empty() ? gan::kFashionMnistDir : g.data_dir;
    t.model.image_channels = 1;
  } else if (g.dataset == "cifar10") {
    if (g.data_dir.empty())
      throw std::invalid_argument(
          "gan.dataset is cifar10 but gan.data_dir is not set; download the CIFAR-10 binary "
          "version (cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html), "
          "unpack it and set gan.data_dir to its cifar-10-batches-bin folder");
    t.data_dir = g.data_dir;
    t.model.image_channels = 3;
  } else {
    throw std::invalid_argument("gan.dataset '" + g.dataset + "' is unknown; valid: fashion_mnist, cifar10");
  }
  t.train_limit = g.train_limit;
  t.model.gf_dim = g.gf_dim;
  t.model.df_dim = g.df_dim;
  t.model.latent_dim = g.latent_dim;
  t.model.bottom_width = 4;  // 32 x 32 images
  t.model.faithful_d_block = g.faithful_d_block;
  t.d_batch = g.d_batch;
  t.g_batch_multiplier = g.g_batch_multiplier;
  t.n_critic = g.n_critic;
  t.lr = g.lr;
  t.beta1 = g.beta1;
  t.beta2 = g.beta2;
  t.eps = g.eps;
  t.ema_decay = g.ema_decay;
  t.iterations_per_epoch = g.iterations_per_epoch;
  t.fid_samples = g.fid_samples;
  t.reference_samples = g.reference_samples;
  t.final_fid_samples = g.final_fid_samples;
  t.is_splits = g.is_splits;
  t.eval_batch_size = g.eval_batch_size;
  t.grid_samples = g.grid_samples;
  return t;
}

std::string feature_cache_dir(const RunConfig& cfg) {
  if (!cfg.gan.features.cache_dir.empty()) return cfg.gan.features.cache_dir;
  const std::string data_dir = gan_task_config(cfg).data_dir;
  if (::access(data_dir.c_str(), W_OK) == 0) return data_dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/pbtnas";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/pbtnas";
  throw std::invalid_argument("the data folder " + data_dir +
                              " is not writable and neither XDG_CACHE_HOME nor HOME is set; set "
                              "gan.features.cache_dir to a writable folder for the FID classifier");
}

std::shared_ptr<gan::FeatureNet> make_feature_net(const RunConfig& cfg, const gan::GanData& data,
                                                  torch::Device device, Logger* log) {
  const GanFeaturesConfig& f = cfg.gan.features;
  if (!f.torchscript.empty()) return std::make_shared<gan::TorchScriptFeatures>(f.torchscript, device);
  gan::ClassifierFeaturesConfig c;
  c.epochs = f.classifier_epochs;
  c.cache_path = (std::filesystem::path(feature_cache_dir(cfg)) /
                  gan::ClassifierFeatures::cache_file_name(cfg.gan.dataset, data.images, data.labels,
                                                           data.n_classes, c))
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
    auto net = gan::ClassifierFeatures::load_or_train(c, data.images, data.labels, data.n_classes, device, say);
    torch::set_num_threads(threads);
    return net;
  } catch (...) {
    torch::set_num_threads(threads);
    throw;
  }
}

std::unique_ptr<Task> make_task(const RunConfig& cfg, torch::Device device, Logger* log) {
  if (cfg.task == "classify") return std::make_unique<ClassifyTask>(cfg.classify, cfg.seed);
  if (cfg.task == "gan") {
    gan::GanTaskConfig t = gan_task_config(cfg);
    gan::GanData data = gan::load_gan_data(t);
    auto features = make_feature_net(cfg, data, device, log);
    return std::make_unique<gan::GanTask>(std::move(t), cfg.seed, std::move(features), std::move(data));
  }
  throw std::invalid_argument("unknown task '" + cfg.task + "'; valid tasks: classify, gan");
}

}  // namespace pbtnas
