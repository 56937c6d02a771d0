#include "pbtnas/gan/gan_task.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "pbtnas/gan/gan_spaces.hpp"
#include "pbtnas/nn/named_state.hpp"
#include "pbtnas/seed.hpp"
#include "pbtnas/tasks/cifar10.hpp"
#include "pbtnas/tasks/idx.hpp"
#include "pbtnas/tasks/image_grid.hpp"

namespace pbtnas::gan {
namespace {

namespace F = torch::nn::functional;

std::string join_path(const std::string& dir, const std::string& file) {
  if (file.empty() || file[0] == '/' || dir.empty()) return file;
  return dir.back() == '/' ? dir + file : dir + "/" + file;
}

at::Generator local_generator(std::uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

std::shared_ptr<GanNetImpl> net_of(const Member& member) {
  auto net = std::dynamic_pointer_cast<GanNetImpl>(member.model);
  if (!net)
    throw std::invalid_argument(
        "gan task: the member's model is not a GanNet; create members with GanTask::create");
  return net;
}

std::shared_ptr<GanEmaImpl> ema_of(const Member& member) {
  auto ema = std::dynamic_pointer_cast<GanEmaImpl>(member.average);
  if (!ema)
    throw std::invalid_argument(
        "gan task: the member has no EMA generator (average); create members with "
        "GanTask::create");
  return ema;
}

// (ema parameter, live parameter) pairs, matched by name.
std::vector<std::pair<torch::Tensor, torch::Tensor>> ema_pairs(GanEmaImpl& ema,
                                                               GanGeneratorImpl& live) {
  const auto avg = ema.generator->named_parameters();
  const auto cur = live.named_parameters();
  if (avg.size() != cur.size())
    throw std::logic_error("gan task: the EMA generator and the generator differ in parameters");
  std::vector<std::pair<torch::Tensor, torch::Tensor>> out;
  for (const auto& item : avg) {
    const torch::Tensor* p = cur.find(item.key());
    if (!p || p->sizes() != item.value().sizes())
      throw std::logic_error("gan task: the generator has no parameter matching EMA tensor " +
                             item.key());
    out.emplace_back(item.value(), *p);
  }
  return out;
}

// The GanHard projections apply dropout through F::dropout, which draws from the default
// (global) generator of the device. For reproducible training the default generator is re-seeded
// from the task seed at each epoch and its previous state is restored afterwards.
class DefaultGeneratorScope {
 public:
  explicit DefaultGeneratorScope(torch::Device device)
      : gen_(at::globalContext().defaultGenerator(device)) {
    std::lock_guard<std::mutex> lock(gen_.mutex());
    saved_ = gen_.get_state();
  }
  void reseed(std::uint64_t seed) {
    std::lock_guard<std::mutex> lock(gen_.mutex());
    gen_.set_current_seed(seed);
  }
  ~DefaultGeneratorScope() {
    try {
      std::lock_guard<std::mutex> lock(gen_.mutex());
      gen_.set_state(saved_);
    } catch (...) {
    }
  }
  DefaultGeneratorScope(const DefaultGeneratorScope&) = delete;
  DefaultGeneratorScope& operator=(const DefaultGeneratorScope&) = delete;

 private:
  at::Generator gen_;
  torch::Tensor saved_;
};

// Puts the EMA parameters into the live generator (eval mode) and restores it on destruction
// (BatchNorm running statistics stay the live generator's: Q12 in docs/algorithm.md).
class EmaSwap {
 public:
  EmaSwap(GanGeneratorImpl& live, GanEmaImpl& ema) : live_(live), was_training_(live.is_training()) {
    torch::NoGradGuard no_grad;
    pairs_ = ema_pairs(ema, live);
    for (auto& [avg, p] : pairs_) {
      saved_.push_back(p.detach().clone());
      p.detach().copy_(avg.detach());
    }
    live_.eval();
  }
  ~EmaSwap() {
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < saved_.size(); ++i) pairs_[i].second.detach().copy_(saved_[i]);
    live_.train(was_training_);
  }
  EmaSwap(const EmaSwap&) = delete;
  EmaSwap& operator=(const EmaSwap&) = delete;

 private:
  GanGeneratorImpl& live_;
  bool was_training_;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> pairs_;
  std::vector<torch::Tensor> saved_;
};

}  // namespace

// ---------------------------------------------------------------- RandomProjectionFeatures

RandomProjectionFeatures::RandomProjectionFeatures(int dim, std::uint64_t seed, int in_channels) {
  if (dim < 1 || in_channels < 1)
    throw std::invalid_argument("RandomProjectionFeatures: dim and in_channels must be >= 1");
  at::Generator gen = local_generator(seed);
  weight_ = at::normal(0.0, 1.0 / std::sqrt(25.0 * in_channels), {dim, in_channels, 5, 5}, gen);
  bias_ = at::normal(0.0, 0.1, {dim}, gen);
}

torch::Tensor RandomProjectionFeatures::features(const torch::Tensor& images) const {
  if (images.dim() != 4 || images.size(1) != weight_.size(1))
    throw std::invalid_argument("RandomProjectionFeatures: expected N x " +
                                std::to_string(weight_.size(1)) + " x H x W images");
  torch::NoGradGuard no_grad;
  const torch::Tensor x = images.to(torch::kFloat32);
  const torch::Tensor h = F::conv2d(x, weight_.to(x.device()), F::Conv2dFuncOptions()
                                                                   .bias(bias_.to(x.device()))
                                                                   .stride(2)
                                                                   .padding(2));
  return torch::tanh(h).mean({2, 3});
}

std::string RandomProjectionFeatures::describe() const {
  return "random projection (" + std::to_string(weight_.size(0)) +
         "-d; a test stand-in, not a meaningful FID)";
}

// ---------------------------------------------------------------- GanTask

GanData load_gan_data(const GanTaskConfig& cfg) {
  GanData data;
  torch::Tensor raw;  // uint8 N x C x 32 x 32 (CIFAR-10) or N x 28 x 28 (Fashion-MNIST)
  std::string origin;
  if (cfg.dataset == "fashion_mnist") {
    const std::string images_path = join_path(cfg.data_dir, cfg.train_images);
    const std::string labels_path = join_path(cfg.data_dir, cfg.train_labels);
    IdxImages train = read_idx_images(images_path, labels_path, cfg.train_limit);
    if (train.images.size(1) != 28 || train.images.size(2) != 28)
      throw std::runtime_error("gan task: " + images_path + " holds " +
                               std::to_string(train.images.size(1)) + " x " +
                               std::to_string(train.images.size(2)) +
                               " images; the task expects 28 x 28 (Fashion-MNIST), padded to 32");
    // [0, 255] -> [-1, 1], then 2 px of -1 on each side: N x 1 x 32 x 32.
    data.images = F::pad(train.images.to(torch::kFloat32).div_(127.5).sub_(1.0).unsqueeze(1),
                         F::PadFuncOptions({2, 2, 2, 2}).value(-1.0))
                      .contiguous();
    data.labels = train.labels.to(torch::kInt64);
    origin = images_path;
  } else if (cfg.dataset == "cifar10") {
    Cifar10Data train = read_cifar10_train(cfg.data_dir, cfg.train_limit);
    data.images = train.images.to(torch::kFloat32).div_(127.5).sub_(1.0).contiguous();
    data.labels = train.labels.to(torch::kInt64);
    origin = cfg.data_dir;
  } else {
    throw std::invalid_argument("gan task: unknown dataset '" + cfg.dataset +
                                "'; valid: fashion_mnist, cifar10");
  }
  if (data.images.size(0) < 2)
    throw std::runtime_error("gan task: " + origin + " holds fewer than 2 images");
  data.n_classes = 10;
  return data;
}

GanTask::GanTask(GanTaskConfig cfg, std::uint64_t run_seed, std::shared_ptr<FeatureNet> features)
    : GanTask(cfg, run_seed, std::move(features), load_gan_data(cfg)) {}

GanTask::GanTask(GanTaskConfig cfg, std::uint64_t run_seed, std::shared_ptr<FeatureNet> features,
                 GanData data)
    : cfg_(std::move(cfg)), features_(std::move(features)), run_seed_(run_seed) {
  kind_ = gan_space_kind(cfg_.space);
  space_ = kind_ == GanSpaceKind::Easy ? gan_easy_space() : gan_hard_space();
  cfg_.validate();
  if (!data.images.defined() || data.images.dim() != 4 || data.images.size(2) != 32 ||
      data.images.size(3) != 32)
    throw std::invalid_argument("gan task: the training images must be N x C x 32 x 32");
  if (cfg_.model.image_channels != data.images.size(1))
    throw std::invalid_argument("gan task: model.image_channels is " +
                                std::to_string(cfg_.model.image_channels) + " but the " +
                                cfg_.dataset + " images have " +
                                std::to_string(data.images.size(1)) + " channel(s)");
  if (cfg_.model.bottom_width * 8 != 32)
    throw std::invalid_argument(
        "gan task: model.bottom_width must be 4 (images are 32 x 32, bottom_width * 8), got " +
        std::to_string(cfg_.model.bottom_width));
  if (!features_) throw std::invalid_argument("gan task: a FeatureNet is required for FID");
  train_x_ = std::move(data.images);

  const std::int64_t n_ref = cfg_.reference_samples > 0
                                 ? std::min<std::int64_t>(cfg_.reference_samples, train_x_.size(0))
                                 : train_x_.size(0);
  FeatureStatsAccumulator acc;
  for (std::int64_t b = 0; b < n_ref; b += cfg_.eval_batch_size)
    acc.add(features_->features(train_x_.slice(0, b, std::min<std::int64_t>(n_ref, b + cfg_.eval_batch_size))));
  ref_stats_ = acc.finalize();

  // The latents every member is scored on: a local generator seeded from the run seed.
  at::Generator gen = local_generator(derive_seed(run_seed, 1, 0, Purpose::DataSplit));
  fid_z_ = at::normal(0.0, 1.0, {cfg_.fid_samples, cfg_.model.latent_dim}, gen);
  at::Generator grid_gen = local_generator(derive_seed(run_seed, 1, 1, Purpose::DataSplit));
  grid_z_ = at::normal(0.0, 1.0, {std::max(1, cfg_.grid_samples), cfg_.model.latent_dim}, grid_gen);
}

std::int64_t GanTask::iterations_per_epoch() const {
  const std::int64_t n = train_x_.size(0);
  return cfg_.iterations_per_epoch > 0 ? cfg_.iterations_per_epoch
                                       : (n + cfg_.d_batch - 1) / cfg_.d_batch;
}

Member GanTask::create(const Genome& genome, std::uint64_t init_seed, torch::Device device) const {
  space_.validate(genome);
  auto net = std::make_shared<GanNetImpl>(kind_, genome, cfg_.model);
  init_gan_net(*net, init_seed);
  auto ema = std::make_shared<GanEmaImpl>(
      std::make_shared<GanGeneratorImpl>(kind_, genome, cfg_.model));
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
  auto adam = [&](const std::vector<torch::Tensor>& params) {
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(cfg_.lr)
                    .betas({cfg_.beta1, cfg_.beta2})
                    .eps(cfg_.eps)
                    .weight_decay(0.0));
  };
  member.optimizers.push_back(adam(net->generator->parameters()));
  member.optimizers.push_back(adam(net->discriminator->parameters()));
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
  return stats;
}

torch::Tensor GanTask::sample_ema(Member& member, const torch::Tensor& z) const {
  auto net = net_of(member);
  auto ema = ema_of(member);
  torch::NoGradGuard no_grad;
  EmaSwap swap(*net->generator, *ema);
  std::vector<torch::Tensor> out;
  for (std::int64_t b = 0; b < z.size(0); b += cfg_.eval_batch_size) {
    const std::int64_t end = std::min<std::int64_t>(z.size(0), b + cfg_.eval_batch_size);
    out.push_back(net->generate(z.slice(0, b, end).to(member.device)).to(torch::kCPU));
  }
  return torch::cat(out, 0);
}

namespace {

// Feature statistics (and, when `logits` is given and the network has logits, the logits) of the
// EMA generator's images for the latents z, generated in batches. false: non-finite images.
bool ema_statistics(GanNetImpl& net, GanEmaImpl& ema, const FeatureNet& features,
                    const torch::Tensor& z, int batch, torch::Device device, FeatureStats& stats,
                    std::vector<torch::Tensor>* logits) {
  torch::NoGradGuard no_grad;
  EmaSwap swap(*net.generator, ema);
  FeatureStatsAccumulator acc;
  for (std::int64_t b = 0; b < z.size(0); b += batch) {
    const std::int64_t end = std::min<std::int64_t>(z.size(0), b + batch);
    const torch::Tensor images = net.generate(z.slice(0, b, end).to(device));
    auto [f, l] = logits ? features.features_and_logits(images)
                         : std::make_pair(features.features(images), torch::Tensor());
    if (!torch::isfinite(f).all().item<bool>()) return false;
    acc.add(f);
    if (logits && l.defined()) logits->push_back(l.to(torch::kCPU, torch::kFloat32));
  }
  stats = acc.finalize();
  return true;
}

}  // namespace

double GanTask::fid(Member& member) const {
  auto net = net_of(member);
  auto ema = ema_of(member);
  FeatureStats stats;
  if (!ema_statistics(*net, *ema, *features_, fid_z_, cfg_.eval_batch_size, member.device, stats,
                      nullptr))
    return std::numeric_limits<double>::quiet_NaN();
  try {
    return frechet_distance(stats, ref_stats_);
  } catch (const std::runtime_error&) {  // non-finite distance
    return std::numeric_limits<double>::quiet_NaN();
  }
}

std::vector<Metric> GanTask::final_metrics(Member& member) const {
  if (cfg_.final_fid_samples == 0) return {};
  auto net = net_of(member);
  auto ema = ema_of(member);
  // Fresh latents, not the search's: the final FID is not the quantity that was selected on.
  at::Generator gen = local_generator(derive_seed(run_seed_, 2, 0, Purpose::DataSplit));
  const torch::Tensor z =
      at::normal(0.0, 1.0, {cfg_.final_fid_samples, cfg_.model.latent_dim}, gen);
  FeatureStats stats;
  std::vector<torch::Tensor> logits;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<Metric> out;
  if (!ema_statistics(*net, *ema, *features_, z, cfg_.eval_batch_size, member.device, stats,
                      &logits)) {
    out.push_back({"fid", nan});
    out.push_back({"fid_samples", static_cast<double>(cfg_.final_fid_samples)});
    return out;
  }
  double fid_value = nan;
  try {
    fid_value = frechet_distance(stats, ref_stats_);
  } catch (const std::runtime_error&) {
  }
  out.push_back({"fid", fid_value});
  out.push_back({"fid_samples", static_cast<double>(cfg_.final_fid_samples)});
  if (!logits.empty()) {
    const torch::Tensor all = torch::cat(logits, 0);
    const int splits = static_cast<int>(std::min<std::int64_t>(cfg_.is_splits, all.size(0)));
    try {
      const InceptionScore is = inception_score_stats(all, splits);
      out.push_back({"inception_score", is.mean});
      out.push_back({"inception_score_std", is.stddev});
    } catch (const std::runtime_error&) {
      out.push_back({"inception_score", nan});
    }
  }
  return out;
}

bool GanTask::write_preview(Member& member, const std::string& png_path) const {
  if (cfg_.grid_samples <= 0) return false;
  const torch::Tensor images = sample_ema(member, grid_z_.slice(0, 0, cfg_.grid_samples));
  const int nrow = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(cfg_.grid_samples))));
  save_image_grid(images, nrow, png_path);
  return true;
}

double GanTask::fitness(Member& member) const {
  const double d = fid(member);
  return std::isnan(d) ? d : -d;
}

}  // namespace pbtnas::gan
