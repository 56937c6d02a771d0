#include "pbtnas/tasks/gan/gan_options.hpp"

#include <stdexcept>

#include "pbtnas/core/config_section.hpp"

namespace pbtnas::gan {

void validate_model_config(const GanModelConfig& m) {
  const std::string w = "an integer in [1, " + std::to_string(kMaxWidth) + "]";
  check_range("gan.gf_dim", m.gf_dim, 1, kMaxWidth, w + " (paper: 256)");
  check_range("gan.df_dim", m.df_dim, 1, kMaxWidth, w + " (paper: 128)");
  check_range("gan.latent_dim", m.latent_dim, 3, kMaxWidth, "a multiple of 3 in [3, " + std::to_string(kMaxWidth) + "]");
  if (m.latent_dim % 3 != 0)
    throw std::invalid_argument("'gan.latent_dim' = " + std::to_string(m.latent_dim) +
                                " is not a multiple of 3 (the 'part' projections split z in thirds; paper: 120)");
  check_range("gan model bottom_width", m.bottom_width, 2, 64,
              "an integer >= 2 (projection 0's 'prev' width is bottom_width / 2)");
  check_range("gan model image_channels", m.image_channels, 1, 4, "1 (gray) to 4");
  if (m.stl_projections && m.latent_dim % 2 != 0)
    throw std::invalid_argument("'gan.latent_dim' = " + std::to_string(m.latent_dim) +
                                " is odd; gan.stl_projections splits z in halves (paper: 120)");
}

void GanOptions::validate() const {
  validate_model_config(model);
  check_choice("gan.space", space, {"gan_easy", "gan_hard"});
  check_choice("gan.dataset", dataset, {"fashion_mnist", "cifar10", "stl10"});
  if (model.stl_projections && space != "gan_easy")
    throw std::invalid_argument("'gan.stl_projections' = true needs gan.space gan_easy (GanHard searches its "
                                "projections; the released STL-10 GanHard config has if_stl_projections false)");
  check_choice("gan.fid_latents", fid_latents, {"fresh", "fixed"});
  check_range("gan.train_limit", train_limit, 0, kMaxCount, "0 (all) or a count");
  const std::string b = "an integer in [1, " + std::to_string(kMaxBatch) + "]";
  check_range("gan.d_batch", d_batch, 1, kMaxBatch, b + " (paper: 40)");
  check_range("gan.g_batch_multiplier", g_batch_multiplier, 1, 64, "an integer in [1, 64] (paper: 2)");
  check_range("gan.n_critic", n_critic, 1, 1000, "an integer in [1, 1000] (paper: 5)");
  check_range("gan.lr", lr, 1e-12, 10.0, "a learning rate in (0, 10] (paper: 2e-4)");
  check_range("gan.beta1", beta1, 0.0, 0.999999, "a value in [0, 1) (paper: 0)");
  check_range("gan.beta2", beta2, 0.0, 0.999999, "a value in [0, 1) (paper: 0.9)");
  check_range("gan.eps", eps, 1e-300, 1.0, "a value in (0, 1] (paper: 1e-4)");
  check_range("gan.ema_decay", ema_decay, 0.0, 1.0, "a value in [0, 1] (paper: 0.999)");
  check_range("gan.iterations_per_epoch", iterations_per_epoch, 0, kMaxCount,
              "0 (one pass over the data) or a count of D steps");
  const std::string s = std::to_string(kMaxSamples);
  check_range("gan.fid_samples", fid_samples, 2, kMaxSamples, "an integer in [2, " + s + "] (paper: 5000)");
  check_range("gan.reference_samples", reference_samples, 0, kMaxSamples,
              "0 (all training images, as the paper) or a count in [2, " + s + "]");
  if (reference_samples == 1)
    throw std::invalid_argument("'gan.reference_samples' = 1 is too few; use 0 (all) or >= 2");
  check_range("gan.final_fid_samples", final_fid_samples, 0, kMaxSamples,
              "0 (no final evaluation) or a count in [2, " + s + "] (paper: 50000)");
  if (final_fid_samples == 1)
    throw std::invalid_argument("'gan.final_fid_samples' = 1 is too few; use 0 (off) or >= 2");
  check_range("gan.is_splits", is_splits, 1, 1000, "an integer in [1, 1000] (paper: 10)");
  check_range("gan.eval_batch_size", eval_batch_size, 1, kMaxBatch, b);
  check_range("gan.grid_samples", grid_samples, 0, 1024, "0 (no grids) to 1024");
  check_range("gan.features.classifier_epochs", features.classifier_epochs, 1, 1000, "an integer in [1, 1000]");
}

GanOptions GanOptions::parse(ConfigSection s) {
  GanOptions t;
  s.get("dataset", t.dataset);
  std::string data_dir;
  s.get("data_dir", data_dir);
  s.get("train_limit", t.train_limit);
  s.get("share_data", t.share_data);
  s.get("space", t.space);
  s.get("gf_dim", t.model.gf_dim);
  s.get("df_dim", t.model.df_dim);
  s.get("latent_dim", t.model.latent_dim);
  s.get("faithful_d_block", t.model.faithful_d_block);
  const bool stl_projections_given = s.has("stl_projections");
  s.get("stl_projections", t.model.stl_projections);
  s.get("d_batch", t.d_batch);
  s.get("g_batch_multiplier", t.g_batch_multiplier);
  s.get("n_critic", t.n_critic);
  s.get("lr", t.lr);
  s.get("beta1", t.beta1);
  s.get("beta2", t.beta2);
  s.get("eps", t.eps);
  s.get("ema_decay", t.ema_decay);
  s.get("iterations_per_epoch", t.iterations_per_epoch);
  s.get("fid_samples", t.fid_samples);
  s.get("fid_latents", t.fid_latents);
  s.get("reference_samples", t.reference_samples);
  s.get("final_fid_samples", t.final_fid_samples);
  s.get("is_splits", t.is_splits);
  s.get("eval_batch_size", t.eval_batch_size);
  s.get("grid_samples", t.grid_samples);
  ConfigSection f = s.sub("features");
  f.get("torchscript", t.features.torchscript);
  f.get("cache_dir", t.features.cache_dir);
  f.get("classifier_epochs", t.features.classifier_epochs);
  f.reject_unknown();
  s.reject_unknown();

  t.model.bottom_width = 4;  // 32 x 32 images
  if (t.dataset == "fashion_mnist") {
    t.data_dir = data_dir.empty() ? kFashionMnistDir : data_dir;
    t.model.image_channels = 1;
  } else if (t.dataset == "cifar10") {
    if (data_dir.empty())
      s.fail("gan.data_dir", "is not set but gan.dataset is cifar10; download the CIFAR-10 binary version "
                             "(cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html), "
                             "unpack it and set gan.data_dir to its cifar-10-batches-bin folder");
    t.data_dir = data_dir;
    t.model.image_channels = 3;
  } else if (t.dataset == "stl10") {
    if (data_dir.empty())
      s.fail("gan.data_dir", "is not set but gan.dataset is stl10; download the STL-10 binary version "
                             "(stl10_binary.tar.gz from https://cs.stanford.edu/~acoates/stl10/), "
                             "unpack it and set gan.data_dir to its stl10_binary folder");
    t.data_dir = data_dir;
    t.model.image_channels = 3;
    t.model.bottom_width = 6;  // 48 x 48 images (the released STL configs: bottom_width 6, gan_target_res 48)
    if (!stl_projections_given) t.model.stl_projections = t.space == "gan_easy";
  }
  t.validate();
  return t;
}

}  // namespace pbtnas::gan
