#include "pbtnas/config.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>

namespace pbtnas {

const char* to_string(Algorithm a) {
  switch (a) {
    case Algorithm::PbtNas: return "pbtnas";
    case Algorithm::Mutation: return "mutation";
    case Algorithm::Random: return "random";
  }
  return "?";
}

bool RunConfig::mix_after(int next_epoch) const {
  if (next_epoch >= max_epochs) return false;  // never after the last step
  if (algorithm == Algorithm::Random) return false;
  if (mix_schedule.every <= 0) return true;
  return next_epoch >= mix_schedule.until || next_epoch % mix_schedule.every == 0;
}

namespace {

// Walks one YAML mapping: every key must be consumed by a handler, else it is unknown.
class Section {
 public:
  Section(const YAML::Node& node, std::string path, std::string origin)
      : node_(node), path_(std::move(path)), origin_(std::move(origin)) {
    if (node_ && !node_.IsNull() && !node_.IsMap()) fail(path_.empty() ? "the file" : path_, "must be a mapping of keys");
  }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw std::invalid_argument("config " + origin_ + ": '" + key + "' " + what);
  }
  std::string key(const std::string& k) const { return path_.empty() ? k : path_ + "." + k; }

  template <typename T>
  void get(const std::string& k, T& out, std::function<bool(const T&)> ok = nullptr, const std::string& range = "") {
    seen_.emplace(k, true);
    if (!node_ || !node_[k]) return;
    const YAML::Node v = node_[k];
    T value;
    try {
      value = v.as<T>();
    } catch (const YAML::Exception&) {
      fail(key(k), "has value '" + YAML::Dump(v) + "' of the wrong type" + (range.empty() ? "" : "; expected " + range));
    }
    if (ok && !ok(value)) fail(key(k), "= " + YAML::Dump(v) + " is out of range; expected " + range);
    out = value;
  }

  Section sub(const std::string& k) {
    seen_.emplace(k, true);
    return Section(node_ ? node_[k] : YAML::Node(), key(k), origin_);
  }
  bool has(const std::string& k) const { return node_ && node_[k]; }
  YAML::Node raw(const std::string& k) {
    seen_.emplace(k, true);
    return node_ ? node_[k] : YAML::Node();
  }

  void reject_unknown() const {
    if (!node_ || !node_.IsMap()) return;
    for (const auto& kv : node_) {
      const std::string k = kv.first.as<std::string>();
      if (!seen_.count(k)) {
        std::string known;
        for (const auto& s : seen_) known += (known.empty() ? "" : ", ") + s.first;
        fail(key(k), "is not a known key; valid keys here: " + known + " (see docs/config.md)");
      }
    }
  }

 private:
  YAML::Node node_;
  std::string path_, origin_;
  std::map<std::string, bool> seen_;
};

template <typename T>
std::function<bool(const T&)> at_least(T lo) {
  return [lo](const T& v) { return v >= lo; };
}
std::function<bool(const double&)> in_range(double lo, double hi) {
  return [lo, hi](const double& v) { return std::isfinite(v) && v >= lo && v <= hi; };
}

void parse_classify(Section s, ClassifyConfig& c) {
  s.get<int>("channels", c.channels, at_least(1), "an integer >= 1");
  s.get<int>("cells_per_stage", c.cells_per_stage, at_least(1), "an integer >= 1");
  s.get<int>("batch_size", c.batch_size, at_least(1), "an integer >= 1");
  s.get<double>("lr", c.lr, in_range(1e-12, 10.0), "a learning rate in (0, 10]");
  s.get<double>("weight_decay", c.weight_decay, in_range(0.0, 10.0), "a value in [0, 10]");
  s.get<std::int64_t>("samples_per_epoch", c.samples_per_epoch, at_least<std::int64_t>(0), "0 (whole split) or a count");
  s.get<int>("eval_batch_size", c.eval_batch_size, at_least(1), "an integer >= 1");
  Section d = s.sub("data");
  DataConfig& dc = c.data;
  d.get<std::string>("dir", dc.dir);
  d.get<std::string>("train_images", dc.train_images);
  d.get<std::string>("train_labels", dc.train_labels);
  d.get<std::string>("test_images", dc.test_images);
  d.get<std::string>("test_labels", dc.test_labels);
  d.get<std::int64_t>("train_limit", dc.train_limit, at_least<std::int64_t>(0), "0 (all) or a count");
  d.get<std::int64_t>("test_limit", dc.test_limit, at_least<std::int64_t>(0), "0 (all) or a count");
  d.get<double>("val_fraction", dc.val_fraction, [](const double& v) { return v > 0.0 && v <= 0.5; }, "a fraction in (0, 0.5]");
  d.reject_unknown();
  s.reject_unknown();
}

void parse_gan(Section s, GanConfig& g) {
  s.get<std::string>("dataset", g.dataset, [](const std::string& d) { return d == "fashion_mnist" || d == "cifar10"; },
                     "one of fashion_mnist, cifar10");
  s.get<std::string>("data_dir", g.data_dir);
  s.get<std::int64_t>("train_limit", g.train_limit, at_least<std::int64_t>(0), "0 (all) or a count");
  s.get<std::string>("space", g.space, [](const std::string& v) { return v == "gan_easy" || v == "gan_hard"; },
                     "one of gan_easy, gan_hard");
  s.get<int>("gf_dim", g.gf_dim, at_least(1), "an integer >= 1 (paper: 256)");
  s.get<int>("df_dim", g.df_dim, at_least(1), "an integer >= 1 (paper: 128)");
  s.get<int>("latent_dim", g.latent_dim, [](const int& v) { return v >= 3 && v % 3 == 0; },
             "a multiple of 3 (the 'part' projections split z in thirds; paper: 120)");
  s.get<bool>("faithful_d_block", g.faithful_d_block);
  s.get<int>("d_batch", g.d_batch, at_least(1), "an integer >= 1 (paper: 40)");
  s.get<int>("g_batch_multiplier", g.g_batch_multiplier, at_least(1), "an integer >= 1 (paper: 2)");
  s.get<int>("n_critic", g.n_critic, at_least(1), "an integer >= 1 (paper: 5)");
  s.get<double>("lr", g.lr, in_range(1e-12, 10.0), "a learning rate in (0, 10] (paper: 2e-4)");
  s.get<double>("beta1", g.beta1, in_range(0.0, 0.999999), "a value in [0, 1) (paper: 0)");
  s.get<double>("beta2", g.beta2, in_range(0.0, 0.999999), "a value in [0, 1) (paper: 0.9)");
  s.get<double>("eps", g.eps, in_range(1e-300, 1.0), "a value in (0, 1] (paper: 1e-4)");
  s.get<double>("ema_decay", g.ema_decay, in_range(0.0, 1.0), "a value in [0, 1] (paper: 0.999)");
  s.get<std::int64_t>("iterations_per_epoch", g.iterations_per_epoch, at_least<std::int64_t>(0),
                      "0 (one pass over the data) or a count of D steps");
  s.get<int>("fid_samples", g.fid_samples, at_least(2), "an integer >= 2 (paper: 5000)");
  s.get<std::int64_t>("reference_samples", g.reference_samples, at_least<std::int64_t>(0),
                      "0 (all training images, as the paper) or a count >= 2");
  if (g.reference_samples == 1) s.fail(s.key("reference_samples"), "= 1 is too few; use 0 (all) or >= 2");
  s.get<int>("final_fid_samples", g.final_fid_samples, at_least(0), "0 (no final evaluation) or a count >= 2 (paper: 50000)");
  if (g.final_fid_samples == 1) s.fail(s.key("final_fid_samples"), "= 1 is too few; use 0 (off) or >= 2");
  s.get<int>("is_splits", g.is_splits, at_least(1), "an integer >= 1 (paper: 10)");
  s.get<int>("eval_batch_size", g.eval_batch_size, at_least(1), "an integer >= 1");
  s.get<int>("grid_samples", g.grid_samples, [](const int& v) { return v >= 0 && v <= 1024; }, "0 (no grids) to 1024");
  Section f = s.sub("features");
  f.get<std::string>("torchscript", g.features.torchscript);
  f.get<std::string>("cache_dir", g.features.cache_dir);
  f.get<int>("classifier_epochs", g.features.classifier_epochs, at_least(1), "an integer >= 1");
  f.reject_unknown();
  s.reject_unknown();
}

}  // namespace

RunConfig parse_config(const std::string& yaml_text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument("config " + origin + ": not valid YAML (" + std::string(e.what()) + ")");
  }
  RunConfig c;
  c.source_text = yaml_text;
  Section s(root, "", origin);

  s.get<std::uint64_t>("seed", c.seed);
  std::string algo = "pbtnas";
  s.get<std::string>("algorithm", algo, [](const std::string& a) { return a == "pbtnas" || a == "mutation" || a == "random"; },
                     "one of pbtnas, mutation, random");
  c.algorithm = algo == "pbtnas" ? Algorithm::PbtNas : algo == "mutation" ? Algorithm::Mutation : Algorithm::Random;

  SelectionConfig& sel = c.selection;
  s.get<int>("population_size", sel.population_size, at_least(4), "an integer >= 4");
  s.get<double>("parents_fraction", sel.parents_fraction, in_range(1e-9, 1.0), "a fraction in (0, 1]");
  s.get<double>("survive_fraction", sel.survive_fraction, in_range(1e-9, 0.999999), "a fraction in (0, 1)");
  sel.n_children = sel.population_size - sel.n_elites();
  s.get<int>("n_children", sel.n_children, at_least(1), "an integer >= 1");
  try {
    sel.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("config " + origin + ": " + e.what());
  }

  s.get<double>("swap_probability", c.swap_probability, in_range(0.0, 1.0), "a probability in [0, 1]");
  if (YAML::Node sp = s.raw("shrink_perturb")) {
    if (!sp.IsSequence() || sp.size() != 2)
      s.fail("shrink_perturb", "must be a list of two numbers [lambda, gamma] (paper: [0.4, 0.1])");
    try {
      c.shrink = sp[0].as<double>();
      c.perturb = sp[1].as<double>();
    } catch (const YAML::Exception&) {
      s.fail("shrink_perturb", "must be a list of two numbers [lambda, gamma] (paper: [0.4, 0.1])");
    }
    if (!std::isfinite(c.shrink) || !std::isfinite(c.perturb) || c.shrink < 0 || c.perturb < 0 || c.shrink > 10 ||
        c.perturb > 10)
      s.fail("shrink_perturb", "values must lie in [0, 10] (paper: [0.4, 0.1]; ablations [1, 0] and [0, 1])");
  }
  s.get<bool>("mix_with_itself", c.mix_with_itself);
  s.get<int>("max_epochs", c.max_epochs, at_least(1), "an integer >= 1");
  s.get<int>("epochs_step", c.epochs_step, at_least(1), "an integer >= 1");
  if (c.max_epochs % c.epochs_step != 0)
    s.fail("max_epochs", "= " + std::to_string(c.max_epochs) + " is not a multiple of epochs_step = " +
                             std::to_string(c.epochs_step) + "; make it one (e.g. 300 and 10)");
  Section ms = s.sub("mix_schedule");
  ms.get<int>("every", c.mix_schedule.every, at_least(0), "0 (mix after every step) or a number of epochs");
  ms.get<int>("until", c.mix_schedule.until, at_least(0), "an epoch >= 0");
  ms.reject_unknown();

  s.get<std::string>("task", c.task, [](const std::string& t) { return t == "classify" || t == "gan"; },
                     "one of classify, gan");
  if (c.task != "classify" && s.has("classify")) s.fail("classify", "is set but task is '" + c.task + "'; remove the section");
  if (c.task != "gan" && s.has("gan")) s.fail("gan", "is set but task is '" + c.task + "'; set task: gan or remove the section");
  parse_classify(s.sub("classify"), c.classify);
  parse_gan(s.sub("gan"), c.gan);

  Section ck = s.sub("checkpoint");
  ck.get<int>("keep", c.checkpoint.keep, at_least(0), "0 (keep all) or the number of generations to keep");
  ck.reject_unknown();

  Section rt = s.sub("runtime");
  rt.get<int>("threads_per_rank", c.threads_per_rank, at_least(0), "0 (automatic) or a thread count");
  rt.get<std::string>("device", c.device, [](const std::string& d) { return d == "auto" || d == "cpu" || d == "cuda"; },
                      "one of auto, cpu, cuda");
  rt.reject_unknown();

  Section ts = s.sub("testing");
  ts.get<int>("nan_member", c.nan_member, at_least(-1), "-1 (off) or a member id");
  ts.get<int>("nan_generation", c.nan_generation, at_least(-1), "-1 (off) or a generation");
  ts.reject_unknown();
  if (c.nan_member >= sel.population_size)
    ts.fail("testing.nan_member", "= " + std::to_string(c.nan_member) + " but population_size is " +
                                      std::to_string(sel.population_size));
  s.reject_unknown();
  return c;
}

RunConfig load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw std::invalid_argument("config '" + path + "' cannot be read; check the path (examples: jobs/configs/*.yaml)");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), "'" + path + "'");
}

}  // namespace pbtnas
