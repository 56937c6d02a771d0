#include "pbtnas/tasks/classify/classify.hpp"

#include "pbtnas/tasks/hyper_apply.hpp"

#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "pbtnas/core/config_section.hpp"
#include "pbtnas/core/seed.hpp"
#include "pbtnas/tasks/progress.hpp"
#include "pbtnas/tasks/classify/classify_data.hpp"
#include "pbtnas/tasks/node_cache.hpp"
#include "pbtnas/util/paths.hpp"

namespace pbtnas::classify {
namespace {

std::shared_ptr<ClassifyNetImpl> net_of(const Member& member) {
  auto net = std::dynamic_pointer_cast<ClassifyNetImpl>(member.model);
  if (!net)
    throw std::invalid_argument(
        "classify task: the member's model is not a ClassifyNet; create members with "
        "ClassifyTask::create");
  return net;
}

torch::Tensor index_tensor(const std::vector<std::int64_t>& v, std::size_t begin,
                           std::size_t count) {
  return torch::from_blob(const_cast<std::int64_t*>(v.data() + begin),
                          {static_cast<std::int64_t>(count)}, torch::kInt64)
      .clone();
}

}  // namespace

ClassifyTask::ClassifyTask(const ClassifyOptions& cfg, std::uint64_t run_seed, const std::vector<HyperParameter>& hyper)
    : cfg_(cfg), space_(with_hyper_genes(classify_search_space(cfg), hyper)) {
  cfg_.validate();
  const DataConfig& d = cfg.data;
  // Shared through the node's cache, format idx reads the images' headers only; the pixels are
  // decompressed only when that cache is cold (data.read_train_x).
  ClassifyData data = load_classify_data(d, /*pixels=*/!d.share);
  classes_ = data.classes;
  class_names_ = data.class_names;
  input_channels_ = data.train_x.size(1);
  image_height_ = data.train_x.size(2);
  image_width_ = data.train_x.size(3);

  // Validation (and, without a separate test set, test) rows: the first entries of one
  // permutation of the training images drawn from the run seed.
  const std::int64_t n = data.train_x.size(0);
  const auto n_val = static_cast<std::int64_t>(std::llround(d.val_fraction * double(n)));
  const auto n_test =
      data.separate_test ? std::int64_t{0} : static_cast<std::int64_t>(std::llround(d.test_fraction * double(n)));
  if (n_val < 1 || n - n_val - n_test < 1 || (!data.separate_test && n_test < 1))
    throw std::invalid_argument("classify task: " + std::to_string(n) +
                                " training images with val_fraction " +
                                std::to_string(d.val_fraction) +
                                (data.separate_test ? std::string() : " and test_fraction " + std::to_string(d.test_fraction)) +
                                " leave an empty training, validation or test split; raise "
                                "classify.data.train_limit or change the fractions");

  std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
  std::iota(perm.begin(), perm.end(), std::int64_t{0});
  Rng rng(derive_seed(run_seed, 0, 0, Purpose::DataSplit));
  rng.shuffle(perm);
  val_index_ = index_tensor(perm, 0, static_cast<std::size_t>(n_val));
  const torch::Tensor test_index =
      index_tensor(perm, static_cast<std::size_t>(n_val), static_cast<std::size_t>(n_test));
  const torch::Tensor train_index = index_tensor(perm, static_cast<std::size_t>(n_val + n_test),
                                                 static_cast<std::size_t>(n - n_val - n_test));

  // The normalised images, once per node when shared (docs/performance.md, "Memory per rank").
  const std::string dir =
      d.share ? (d.cache_dir.empty() ? node_scratch_dir("classify.data.cache_dir") : d.cache_dir) : std::string();
  const InputNormalisation norm = input_normalisation(d, data, dir);
  auto images = [&](const std::string& part, const std::vector<std::string>& inputs, const std::string& origin,
                    const torch::Tensor& raw, std::int64_t limit, const std::function<torch::Tensor()>& read) {
    if (!d.share) return normalise_images(read ? read() : raw, norm);
    // Format idx keeps its historical cache key (the same files as before for Fashion-MNIST).
    std::vector<std::string> parts{"classify-normalised-v1", std::to_string(norm.mean[0]), std::to_string(norm.std[0]),
                                   std::to_string(limit)};
    if (!norm.fixed) {
      parts[0] = "classify-normalised-v2";
      parts.insert(parts.end(), {d.format, d.layout, d.images_key, d.labels_key, std::to_string(raw.size(0))});
      for (std::size_t c = 1; c < norm.mean.size(); ++c)
        parts.insert(parts.end(), {std::to_string(norm.mean[c]), std::to_string(norm.std[c])});
    }
    const std::string key = cache_fingerprint(parts, inputs);
    const std::string name = "pbtnas-classify-" + part + "-" + key + ".tensor";
    torch::Tensor x = node_shared_tensor(dir, name, [&] { return normalise_images(read ? read() : raw, norm); });
    if (x.dim() != 4 || x.sizes() != raw.sizes())
      throw std::runtime_error("classify task: the cached images " + dir + "/" + name + " do not match " + origin +
                               "; delete the file");
    return x;
  };
  x_all_ = images("train", data.train_inputs, data.train_origin, data.train_x, d.train_limit, data.read_train_x);
  const torch::Tensor y = data.train_y;
  train_rows_ = train_index;
  train_y_ = y.index_select(0, train_index);
  val_x_ = x_all_.index_select(0, val_index_);
  val_y_ = y.index_select(0, val_index_);
  if (data.separate_test) {
    test_x_ = images("test", data.test_inputs, data.test_origin, data.test_x, d.test_limit, data.read_test_x);
    test_y_ = data.test_y;
  } else {
    test_x_ = x_all_.index_select(0, test_index);
    test_y_ = y.index_select(0, test_index);
  }
  data = {};
  release_free_heap();  // the decoded files' buffers, so that the worker keeps only what it uses
}

Member ClassifyTask::create(const Genome& genome, std::uint64_t init_seed,
                            torch::Device device) const {
  space_.validate(genome);
  auto net = std::make_shared<ClassifyNetImpl>(architecture_genome(space_, genome), cfg_, classes_,
                                               static_cast<int>(input_channels_));
  init_classify_net(*net, init_seed);
  net->to(device);
  Member member;
  member.genome = genome;
  member.model = net;
  member.average = nullptr;
  member.device = device;
  member.optimizers.push_back(std::make_unique<torch::optim::AdamW>(
      net->parameters(), torch::optim::AdamWOptions(hyper_or(space_, genome, "lr", cfg_.lr))
                             .weight_decay(hyper_or(space_, genome, "weight_decay", cfg_.weight_decay))));
  return member;
}

StepStats ClassifyTask::train(Member& member, int epoch_begin, int epochs,
                              std::uint64_t seed) const {
  auto net = net_of(member);
  if (member.optimizers.empty())
    throw std::invalid_argument(
        "classify task: the member has no optimizer; create members "
        "with ClassifyTask::create");
  torch::optim::Optimizer& opt = *member.optimizers.front();
  // Hyperparameter genes: this generation's values; the AdamW moments are kept.
  if (const auto lr = hyper_value(space_, member.genome, "lr")) set_learning_rate(opt, *lr);
  if (const auto wd = hyper_value(space_, member.genome, "weight_decay")) set_weight_decay(opt, *wd);
  net->train();

  // The training samples form one stream: permutation k of the training split (drawn from
  // Rng(derive_seed(seed, k, 0, Train))) follows permutation k-1; epoch e covers stream
  // positions [e * per_epoch, (e + 1) * per_epoch).
  const std::int64_t n = train_rows_.size(0);
  const std::int64_t per_epoch = cfg_.samples_per_epoch > 0 ? cfg_.samples_per_epoch : n;
  std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
  std::int64_t perm_k = -1;

  StepStats stats;
  double loss_sum = 0.0;
  for (int e = epoch_begin; e < epoch_begin + epochs; ++e) {
    std::int64_t pos = static_cast<std::int64_t>(e) * per_epoch;
    const std::int64_t end = pos + per_epoch;
    while (pos < end) {
      const std::int64_t k = pos / n, offset = pos % n;
      if (k != perm_k) {
        std::iota(perm.begin(), perm.end(), std::int64_t{0});
        Rng rng(derive_seed(seed, k, 0, Purpose::Train));
        rng.shuffle(perm);
        perm_k = k;
      }
      const std::int64_t b = std::min({std::int64_t{cfg_.batch_size}, end - pos, n - offset});
      const torch::Tensor idx =
          index_tensor(perm, static_cast<std::size_t>(offset), static_cast<std::size_t>(b));
      const torch::Tensor x = x_all_.index_select(0, train_rows_.index_select(0, idx)).to(member.device);
      const torch::Tensor y = train_y_.index_select(0, idx).to(member.device);
      opt.zero_grad();
      const torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(x), y);
      const double value = loss.item<double>();
      if (!std::isfinite(value)) {
        stats.train_loss = value;
        stats.diverged = true;
        return stats;
      }
      loss.backward();
      opt.step();
      loss_sum += value * static_cast<double>(b);
      stats.samples += b;
      pos += b;
      report_train_progress(stats.samples, per_epoch * epochs);
    }
  }
  stats.train_loss = stats.samples > 0 ? loss_sum / static_cast<double>(stats.samples) : 0.0;
  return stats;
}

double ClassifyTask::accuracy(Member& member, const torch::Tensor& x,
                              const torch::Tensor& y) const {
  auto net = net_of(member);
  const bool was_training = net->is_training();
  net->eval();
  torch::NoGradGuard no_grad;
  std::int64_t correct = 0;
  const std::int64_t n = x.size(0);
  for (std::int64_t begin = 0; begin < n; begin += cfg_.eval_batch_size) {
    const std::int64_t end = std::min<std::int64_t>(n, begin + cfg_.eval_batch_size);
    const torch::Tensor logits = net->forward(x.slice(0, begin, end).to(member.device));
    correct +=
        logits.argmax(1).eq(y.slice(0, begin, end).to(member.device)).sum().item<std::int64_t>();
  }
  net->train(was_training);
  return n > 0 ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
}

torch::Tensor ClassifyTask::forward_batch(Member& member) const {
  // The first eval_batch_size validation images (copied to the member's device inside the pass).
  const std::int64_t n = std::min<std::int64_t>(val_x_.size(0), cfg_.eval_batch_size);
  return net_of(member)->forward(val_x_.slice(0, 0, n).to(member.device));
}

double ClassifyTask::fitness(Member& member) const { return accuracy(member, val_x_, val_y_); }

double ClassifyTask::test_score(Member& member) const { return accuracy(member, test_x_, test_y_); }

std::int64_t ClassifyTask::parameter_count(const Member& member) {
  return member.model ? count_parameters(*member.model) : 0;
}

TaskEntry classify_task_entry() {
  TaskEntry e;
  e.name = "classify";
  e.fitness_label = "validation accuracy";
  e.parse = [](ConfigSection s) -> std::shared_ptr<const TaskOptions> {
    return std::make_shared<ClassifyOptions>(ClassifyOptions::parse(std::move(s)));
  };
  e.space = [](const TaskOptions& o) { return classify_search_space(options_as<ClassifyOptions>(o, "classify")); };
  e.make = [](const TaskOptions& o, const TaskContext& ctx) -> std::unique_ptr<Task> {
    return std::make_unique<ClassifyTask>(options_as<ClassifyOptions>(o, "classify"), ctx.run_seed, ctx.hyperparameters);
  };
  e.hyperparameter_names = [](const TaskOptions&) { return std::vector<std::string>{"lr", "weight_decay"}; };
  e.final_metric_names = [](const TaskOptions&) { return std::vector<std::string>{"val_acc", "test"}; };  // Task's default
  e.export_member = export_classifier;
  return e;
}

}  // namespace pbtnas::classify
