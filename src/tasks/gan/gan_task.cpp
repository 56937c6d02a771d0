// The GAN task: settings, member creation and training (hinge loss, n_critic, EMA).
#include "pbtnas/tasks/gan/gan_task.hpp"

#include "pbtnas/tasks/hyper_apply.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <mutex>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <vector>

#include "gan_task_internal.hpp"
#include "pbtnas/core/hash.hpp"
#include "pbtnas/core/seed.hpp"
#include "pbtnas/nn/named_state.hpp"
#include "pbtnas/tasks/cifar10.hpp"
#include "pbtnas/tasks/gan/features.hpp"
#include "pbtnas/tasks/gan/gan_entry.hpp"
#include "pbtnas/tasks/gan/gan_spaces.hpp"
#include "pbtnas/tasks/node_cache.hpp"
#include "pbtnas/tasks/progress.hpp"
#include "pbtnas/tasks/idx.hpp"
#include "pbtnas/tasks/image_grid.hpp"
#include "pbtnas/util/file_lock.hpp"

namespace pbtnas::gan {

using namespace detail;
namespace F = torch::nn::functional;

namespace {

// The reference statistics depend only on the feature network and the images they are computed
// over, and cost minutes for 60,000 images on a CPU: they are cached next to the feature
// network's own cache (feature_cache_dir), keyed by a fingerprint of everything they depend on,
// so that every worker and every later run loads them instead. Only for networks with a cache
// key (the built-in classifier, a TorchScript file), never for test stand-ins.
std::string reference_stats_cache_file(const GanOptions& cfg, const FeatureNet& features, std::int64_t n_ref) {
  const std::string net_key = features.cache_key();
  if (net_key.empty()) return "";
  // The image files by absolute path, size and modification time: another data set under the same
  // (relative) folder name gives another key.
  const std::string key = net_key + "|" + cfg.dataset + "|" + cache_fingerprint({}, gan_image_files(cfg)) +
                          "|" + std::to_string(cfg.train_limit) + "|" + std::to_string(n_ref) + "|" +
                          std::to_string(cfg.eval_batch_size) + "|" + std::to_string(cfg.model.image_channels);
  const std::uint64_t h = fnv1a(key);
  char name[64];
  std::snprintf(name, sizeof name, "pbtnas-reference-stats-%016llx.pt", static_cast<unsigned long long>(h));
  try {
    return (std::filesystem::path(feature_cache_dir(cfg)) / name).string();
  } catch (const std::exception&) {
    return "";  // no cache folder: compute every time
  }
}

// Takes an exclusive flock on PATH.lock (util/file_lock.hpp) into `lock`, waiting for it; best
// effort: nothing when the lock file cannot be made (an unwritable cache folder: each process then
// computes for itself) or flock fails. Where the file system does not lock, one line says so and
// each process that finds no file computes and renames its own temporary into place
// (save_reference_stats).
void lock_reference_stats(const std::string& path, std::optional<FileLock>& lock) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  try {
    lock.emplace(path + ".lock");
  } catch (const std::exception&) {
    lock.reset();
    return;
  }
  if (lock->unsupported())
    std::cerr << "pbtnas: " << lock->why() << "; computing " << path
              << " without the lock (each process that finds no file writes its own temporary and renames it)"
              << std::endl;
}

FeatureStats load_reference_stats(const std::string& path) {
  FeatureStats s;
  if (!std::filesystem::exists(path)) return s;
  try {
    std::vector<torch::Tensor> t;
    torch::load(t, path);
    if (t.size() == 3 && t[0].dim() == 1 && t[1].dim() == 2 && t[1].size(0) == t[0].size(0)) {
      s.mean = t[0];
      s.cov = t[1];
      s.count = t[2].item<std::int64_t>();
    }
  } catch (const std::exception&) {
    s = FeatureStats{};  // unreadable: recomputed and rewritten
  }
  return s;
}

void save_reference_stats(const std::string& path, const FeatureStats& s) {
  try {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    const std::string tmp = temporary_name(path);
    torch::save(std::vector<torch::Tensor>{s.mean, s.cov, torch::tensor(s.count)}, tmp);
    std::filesystem::rename(tmp, path);  // atomic: concurrent writers leave one whole file
  } catch (const std::exception&) {
    // A cache that cannot be written only costs the next start-up the computation.
  }
}

}  // namespace

GanTask::GanTask(GanOptions cfg, std::uint64_t run_seed, std::shared_ptr<FeatureNet> features)
    : GanTask(cfg, run_seed, std::move(features), load_gan_data(cfg)) {}

GanTask::GanTask(GanOptions cfg, std::uint64_t run_seed, std::shared_ptr<FeatureNet> features,
                 GanData data)
    : cfg_(std::move(cfg)), features_(std::move(features)), run_seed_(run_seed) {
  kind_ = gan_space_kind(cfg_.space);
  space_ = kind_ == GanSpaceKind::Easy ? gan_easy_space() : gan_hard_space();
  cfg_.validate();
  if (!data.images.defined() || data.images.dim() != 4 || data.images.size(2) != data.images.size(3) ||
      data.images.size(2) % 8 != 0 || data.images.size(2) < 16)
    throw std::invalid_argument(
        "gan task: the training images must be N x C x S x S with S a multiple of 8 (32, or 48 for STL-10)");
  if (cfg_.model.image_channels != data.images.size(1))
    throw std::invalid_argument("gan task: model.image_channels is " +
                                std::to_string(cfg_.model.image_channels) + " but the " +
                                cfg_.dataset + " images have " +
                                std::to_string(data.images.size(1)) + " channel(s)");
  const std::int64_t side = data.images.size(2);
  if (cfg_.model.bottom_width * 8 != side)
    throw std::invalid_argument("gan task: model.bottom_width must be " + std::to_string(side / 8) + " (images are " +
                                std::to_string(side) + " x " + std::to_string(side) + ", bottom_width * 8), got " +
                                std::to_string(cfg_.model.bottom_width));
  if (!features_) throw std::invalid_argument("gan task: a FeatureNet is required for FID");
  train_x_ = std::move(data.images);

  const std::int64_t n_ref = cfg_.reference_samples > 0
                                 ? std::min<std::int64_t>(cfg_.reference_samples, train_x_.size(0))
                                 : train_x_.size(0);
  const std::string cache = reference_stats_cache_file(cfg_, *features_, n_ref);
  // With a cold cache one process computes the statistics and the others of the node (or of any
  // node sharing the folder) wait and load them: every rank then uses the very same values.
  std::optional<FileLock> lock;
  if (!cache.empty()) lock_reference_stats(cache, lock);
  if (!cache.empty()) ref_stats_ = load_reference_stats(cache);
  if (!ref_stats_.mean.defined()) {
    FeatureStatsAccumulator acc;
    for (std::int64_t b = 0; b < n_ref; b += cfg_.eval_batch_size)
      acc.add(features_->features(train_x_.slice(0, b, std::min<std::int64_t>(n_ref, b + cfg_.eval_batch_size))));
    ref_stats_ = acc.finalize();
    if (!cache.empty()) save_reference_stats(cache, ref_stats_);
  }

  // The fixed latents (gan.fid_latents: fixed): a local generator seeded from the run seed.
  at::Generator gen = local_generator(derive_seed(run_seed, 1, 0, Purpose::DataSplit));
  fid_z_ = at::normal(0.0, 1.0, {cfg_.fid_samples, cfg_.model.latent_dim}, gen);
  at::Generator grid_gen = local_generator(derive_seed(run_seed, 1, 1, Purpose::DataSplit));
  grid_z_ = at::normal(0.0, 1.0, {std::max(1, cfg_.grid_samples), cfg_.model.latent_dim}, grid_gen);
}

void GanTask::add_hyper_genes(const std::vector<HyperParameter>& hyper) {
  // The ranges (beta1 below 1 included) were checked when the config was read (HyperParameter::validate).
  space_ = with_hyper_genes(space_, hyper);
}

std::int64_t GanTask::iterations_per_epoch() const {
  const std::int64_t n = train_x_.size(0);
  return cfg_.iterations_per_epoch > 0 ? cfg_.iterations_per_epoch
                                       : (n + cfg_.d_batch - 1) / cfg_.d_batch;
}

Member GanTask::create(const Genome& genome, std::uint64_t init_seed, torch::Device device) const {
  space_.validate(genome);
  const Genome arch = architecture_genome(space_, genome);
  auto net = std::make_shared<GanNetImpl>(kind_, arch, cfg_.model);
  init_gan_net(*net, init_seed);
  auto ema = std::make_shared<GanEmaImpl>(
      std::make_shared<GanGeneratorImpl>(kind_, arch, cfg_.model));
  {
    torch::NoGradGuard no_grad;
    load_module_state(*ema->generator, module_state(*net->generator));  // exact deep copy
  }
  net->to(device);
  ema->to(device);
  net->train();
  ema->eval();

  Member member;
  member.genome = genome;
  member.model = net;
  member.average = ema;
  member.device = device;
  const double beta1 = hyper_or(space_, genome, "beta1", cfg_.beta1);
  auto adam = [&](const std::vector<torch::Tensor>& params, const char* lr_gene) {
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(hyper_or(space_, genome, lr_gene, cfg_.lr))
                    .betas({beta1, cfg_.beta2})
                    .eps(cfg_.eps)
                    .weight_decay(0.0));
  };
  member.optimizers.push_back(adam(net->generator->parameters(), "g_lr"));
  member.optimizers.push_back(adam(net->discriminator->parameters(), "d_lr"));
  member.extra.push_back({kStoredFitness, torch::full({}, std::numeric_limits<double>::quiet_NaN(), torch::kDouble)});
  return member;
}

StepStats GanTask::train(Member& member, int epoch_begin, int epochs, std::uint64_t seed) const {
  auto net = net_of(member);
  auto ema = ema_of(member);
  if (member.optimizers.size() != 2)
    throw std::invalid_argument(
        "gan task: the member needs two optimizers (G, D); create members with GanTask::create");
  torch::optim::Optimizer& opt_g = *member.optimizers[0];
  torch::optim::Optimizer& opt_d = *member.optimizers[1];
  // Hyperparameter genes: this generation's values; the Adam moments are kept.
  if (const auto lr = hyper_value(space_, member.genome, "g_lr")) set_learning_rate(opt_g, *lr);
  if (const auto lr = hyper_value(space_, member.genome, "d_lr")) set_learning_rate(opt_d, *lr);
  if (const auto b1 = hyper_value(space_, member.genome, "beta1")) {
    set_beta1(opt_g, *b1);
    set_beta1(opt_d, *b1);
  }
  const auto pairs = ema_pairs(*ema, *net->generator);
  net->train();
  DefaultGeneratorScope dropout_rng(member.device);

  // Data order: batches of d_batch over permutation k of the training set (Rng(derive_seed(
  // seed, k, 0, Train))), the last batch of a permutation possibly smaller; the batches of all
  // permutations form one stream and epoch e covers stream batches [e * iters, (e + 1) * iters).
  const std::int64_t n = train_x_.size(0);
  const std::int64_t per_perm = (n + cfg_.d_batch - 1) / cfg_.d_batch;
  const std::int64_t iters = iterations_per_epoch();
  const std::int64_t latent = cfg_.model.latent_dim;
  const std::int64_t g_batch = std::int64_t{cfg_.g_batch_multiplier} * cfg_.d_batch;
  const double decay = cfg_.ema_decay;
  std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
  std::int64_t perm_k = -1;

  StepStats stats;
  double loss_sum = 0.0;
  auto fail = [&](double value) {
    stats.train_loss = value;
    stats.diverged = true;
    stored_fitness(member) = torch::full({}, std::numeric_limits<double>::quiet_NaN(), torch::kDouble);
    return stats;
  };
  for (int e = epoch_begin; e < epoch_begin + epochs; ++e) {
    at::Generator zgen = local_generator(derive_seed(seed, e, 1, Purpose::Train));
    dropout_rng.reseed(derive_seed(seed, e, 2, Purpose::Train));
    for (std::int64_t i = 0; i < iters; ++i) {
      const std::int64_t batch = static_cast<std::int64_t>(e) * iters + i;
      const std::int64_t k = batch / per_perm, offset = (batch % per_perm) * cfg_.d_batch;
      if (k != perm_k) {
        std::iota(perm.begin(), perm.end(), std::int64_t{0});
        Rng rng(derive_seed(seed, k, 0, Purpose::Train));
        rng.shuffle(perm);
        perm_k = k;
      }
      const std::int64_t b = std::min<std::int64_t>(cfg_.d_batch, n - offset);
      const torch::Tensor idx =
          torch::from_blob(perm.data() + offset, {b}, torch::kInt64).clone();
      const torch::Tensor real = train_x_.index_select(0, idx).to(member.device);

      // D step: hinge loss on the real batch and an equally large detached fake batch.
      const torch::Tensor z = at::normal(0.0, 1.0, {b, latent}, zgen).to(member.device);
      opt_d.zero_grad();
      const torch::Tensor fake = net->generate(z).detach();
      const torch::Tensor d_loss = torch::relu(1.0 - net->discriminate(real)).mean() +
                                   torch::relu(1.0 + net->discriminate(fake)).mean();
      const double d_value = d_loss.item<double>();
      if (!std::isfinite(d_value)) return fail(d_value);
      d_loss.backward();
      opt_d.step();
      loss_sum += d_value * static_cast<double>(b);
      stats.samples += b;
      report_train_progress(stats.samples, iters * epochs * cfg_.d_batch);  // total: full batches

      if (i % cfg_.n_critic != 0) continue;
      // G step with g_batch_multiplier * d_batch samples, then the EMA update (parameters only).
      const torch::Tensor gz = at::normal(0.0, 1.0, {g_batch, latent}, zgen).to(member.device);
      opt_g.zero_grad();
      const torch::Tensor g_loss = -net->discriminate(net->generate(gz)).mean();
      const double g_value = g_loss.item<double>();
      if (!std::isfinite(g_value)) return fail(g_value);
      g_loss.backward();
      opt_g.step();
      torch::NoGradGuard no_grad;
      for (const auto& [avg, p] : pairs) avg.detach().mul_(decay).add_(p.detach(), 1.0 - decay);
    }
  }
  opt_d.zero_grad();
  opt_g.zero_grad();
  stats.train_loss = stats.samples > 0 ? loss_sum / static_cast<double>(stats.samples) : 0.0;
  const double d = fid(member, fitness_latents(seed));
  stored_fitness(member) = torch::full({}, std::isnan(d) ? d : -d, torch::kDouble);
  return stats;
}


}  // namespace pbtnas::gan
