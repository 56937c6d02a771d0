// The GAN task's evaluation: EMA samples, FID fitness, final FID/IS, sample grids.
#include "pbtnas/tasks/gan/gan_task.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "gan_task_internal.hpp"
#include "pbtnas/core/seed.hpp"
#include "pbtnas/nn/named_state.hpp"
#include "pbtnas/tasks/cifar10.hpp"
#include "pbtnas/tasks/gan/gan_spaces.hpp"
#include "pbtnas/tasks/idx.hpp"
#include "pbtnas/tasks/image_grid.hpp"

namespace pbtnas::gan {

using namespace detail;
namespace F = torch::nn::functional;

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

// Feature statistics (and, when `logits` is given and the network has logits, the logits of the
// truncated images, a second forward pass) of the EMA generator's images for the latents z,
// generated in batches. false: non-finite images.
bool ema_statistics(GanNetImpl& net, GanEmaImpl& ema, const FeatureNet& features,
                    const torch::Tensor& z, int batch, torch::Device device, FeatureStats& stats,
                    std::vector<torch::Tensor>* logits) {
  torch::NoGradGuard no_grad;
  EmaSwap swap(*net.generator, ema);
  FeatureStatsAccumulator acc;
  for (std::int64_t b = 0; b < z.size(0); b += batch) {
    const std::int64_t end = std::min<std::int64_t>(z.size(0), b + batch);
    const torch::Tensor images = net.generate(z.slice(0, b, end).to(device));
    const torch::Tensor f = features.features(images);
    // The IS logits come from truncated pixels, the features from rounded ones (fid.hpp).
    const torch::Tensor l =
        logits ? features.features_and_logits(truncated_pixel_images(images)).second : torch::Tensor();
    if (!torch::isfinite(f).all().item<bool>()) return false;
    acc.add(f);
    if (logits && l.defined()) logits->push_back(l.to(torch::kCPU, torch::kFloat32));
  }
  stats = acc.finalize();
  return true;
}

}  // namespace

torch::Tensor GanTask::fitness_latents(std::uint64_t train_seed) const {
  if (cfg_.fid_latents == "fixed") return fid_z_;
  at::Generator gen = local_generator(derive_seed(train_seed, 0, 3, Purpose::Train));
  return at::normal(0.0, 1.0, {cfg_.fid_samples, cfg_.model.latent_dim}, gen);
}

double GanTask::fid(Member& member, const torch::Tensor& z) const {
  auto net = net_of(member);
  auto ema = ema_of(member);
  FeatureStats stats;
  if (!ema_statistics(*net, *ema, *features_, z, cfg_.eval_batch_size, member.device, stats,
                      nullptr))
    return std::numeric_limits<double>::quiet_NaN();
  try {
    return frechet_distance(stats, ref_stats_);
  } catch (const std::runtime_error&) {  // non-finite distance, or covariances that are not PSD:
    return std::numeric_limits<double>::quiet_NaN();  // the member diverged (it is replaced)
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

double GanTask::fitness(Member& member) const { return stored_fitness(member).item<double>(); }


}  // namespace pbtnas::gan
