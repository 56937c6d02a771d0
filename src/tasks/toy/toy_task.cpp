#include "pbtnas/tasks/toy/toy_task.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdint>

#include "pbtnas/core/config_section.hpp"
#include "pbtnas/tasks/hyper_apply.hpp"
#include "pbtnas/tasks/registry.hpp"

namespace pbtnas::toy {

ToyNetImpl::ToyNetImpl(const Genome& genome) : genome_(genome) {
  for (int i = 0; i < kToyCells; ++i) {
    const int opt = genome.at(static_cast<std::size_t>(i));
    const int hidden = opt == 1 ? 2 * kToyWidth : kToyWidth;
    torch::nn::Sequential cell(torch::nn::Linear(torch::nn::LinearOptions(kToyWidth, hidden).bias(opt != 2)),
                               torch::nn::Linear(hidden, kToyWidth));
    cells->push_back(cell);
  }
  register_module("cells", cells);
  norm = register_module("norm", torch::nn::BatchNorm1d(kToyWidth));
  head = register_module("head", torch::nn::Linear(kToyWidth, 2));
}

torch::Tensor ToyNetImpl::forward(torch::Tensor x) {
  const bool tanh = genome_.at(kToyCells) == 1;
  for (const auto& m : *cells) {
    auto& seq = *m->as<torch::nn::SequentialImpl>();
    auto h = seq[0]->as<torch::nn::LinearImpl>()->forward(x);
    h = tanh ? torch::tanh(h) : torch::relu(h);
    x = x + seq[1]->as<torch::nn::LinearImpl>()->forward(h);
  }
  return head->forward(norm->forward(x));
}

SearchSpace toy_space() {
  std::vector<Gene> genes;
  for (int i = 0; i < kToyCells; ++i)
    genes.push_back({"cell" + std::to_string(i), {"narrow", "wide", "nobias"}, {"cells." + std::to_string(i)}, false});
  genes.push_back({"act", {"relu", "tanh"}, {}, true});
  return SearchSpace("toy", std::move(genes));
}

void ToyOptions::validate() const {
  check_choice("toy.trace_rule", trace_rule, {"donor", "parent1", "fresh"});
  check_range("toy.steps_per_epoch", steps_per_epoch, 0, 100000, "gradient steps per epoch, 0 (no training work) to 100000");
}

ToyOptions ToyOptions::parse(ConfigSection s) {
  ToyOptions o;
  s.get("trace_rule", o.trace_rule);
  s.get("steps_per_epoch", o.steps_per_epoch);
  s.reject_unknown();
  o.validate();
  s.check_overflows();
  return o;
}

ExtraInherit ToyOptions::rule() const {
  return trace_rule == "donor" ? ExtraInherit::Donor : trace_rule == "fresh" ? ExtraInherit::Fresh : ExtraInherit::Parent1;
}

ToyTask::ToyTask(ExtraInherit trace_rule, int steps_per_epoch, const std::vector<HyperParameter>& hyper)
    : space_(with_hyper_genes(toy_space(), hyper)), trace_rule_(trace_rule), steps_per_epoch_(steps_per_epoch) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
  map_ = at::normal(0.0, 1.0, {kToyWidth, 2}, gen);
  val_x_ = at::normal(0.0, 1.0, {64, kToyWidth}, gen);
  test_x_ = at::normal(0.0, 1.0, {64, kToyWidth}, gen);
}

Member ToyTask::create(const Genome& genome, std::uint64_t init_seed, torch::Device device) const {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(init_seed);
  Member m;
  m.genome = genome;
  m.device = device;
  const Genome arch = architecture_genome(space_, genome);
  ToyNet net(arch), avg(arch);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net->parameters()) p.copy_(at::normal(0.0, 0.5, p.sizes(), gen));
    auto src = net->named_parameters();
    for (auto& p : avg->named_parameters()) p.value().copy_(src[p.key()]);
  }
  m.model = net.ptr();
  m.average = avg.ptr();
  m.optimizers.push_back(
      std::make_unique<torch::optim::AdamW>(net->parameters(), torch::optim::AdamWOptions(hyper_or(space_, genome, "lr", 1e-2))));
  m.extra.push_back({"trace.origin", torch::scalar_tensor(static_cast<std::int64_t>(init_seed & 0xffffffffu), torch::kLong)});
  m.extra.push_back({"trace.steps", torch::scalar_tensor(static_cast<std::int64_t>(0), torch::kLong)});
  return m;
}

StepStats ToyTask::train(Member& m, int epoch_begin, int epochs, std::uint64_t seed) const {
  (void)epoch_begin;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto* net = dynamic_cast<ToyNetImpl*>(m.model.get());
  net->train();
  if (const auto lr = hyper_value(space_, m.genome, "lr"))  // the gene's value this generation
    for (auto& opt : m.optimizers) set_learning_rate(*opt, *lr);
  StepStats s;
  double total = 0.0;
  for (int e = 0; e < epochs; ++e)
    for (int step = 0; step < steps_per_epoch_; ++step) {
      const torch::Tensor x = at::normal(0.0, 1.0, {16, kToyWidth}, gen);
      for (auto& opt : m.optimizers) opt->zero_grad();
      torch::Tensor loss = torch::mse_loss(net->forward(x), x.matmul(map_));
      loss.backward();
      for (auto& opt : m.optimizers) opt->step();
      total += loss.item<double>();
      s.samples += 16;
    }
  s.train_loss = total / std::max(1, steps_per_epoch_ * epochs);
  s.diverged = !std::isfinite(s.train_loss);
  for (auto& e : m.extra)
    if (e.name == "trace.steps") e.tensor += 1;
  return s;
}

torch::Tensor ToyTask::forward_batch(Member& m) const {
  return dynamic_cast<ToyNetImpl*>(m.model.get())->forward(val_x_.to(m.device));
}

double ToyTask::error(Member& m, const torch::Tensor& x) const {
  torch::NoGradGuard no_grad;
  auto* net = dynamic_cast<ToyNetImpl*>(m.model.get());
  net->eval();
  const double e = torch::mse_loss(net->forward(x), x.matmul(map_)).item<double>();
  net->train();
  return e;
}

TaskEntry toy_task_entry() {
  TaskEntry e;
  e.name = "toy";
  e.fitness_label = "-MSE";
  e.parse = [](ConfigSection s) -> std::shared_ptr<const TaskOptions> {
    return std::make_shared<ToyOptions>(ToyOptions::parse(std::move(s)));
  };
  e.space = [](const TaskOptions&) { return toy_space(); };
  e.make = [](const TaskOptions& o, const TaskContext& ctx) -> std::unique_ptr<Task> {
    const auto& t = options_as<ToyOptions>(o, "toy");
    return std::make_unique<ToyTask>(t.rule(), t.steps_per_epoch, ctx.hyperparameters);
  };
  e.hyperparameter_names = [](const TaskOptions&) { return std::vector<std::string>{"lr"}; };
  e.final_metric_names = [](const TaskOptions&) { return std::vector<std::string>{"neg_mse", "test"}; };  // Task's default
  return e;
}

}  // namespace pbtnas::toy
