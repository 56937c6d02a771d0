#pragma once
// ToyTask: a whole Task in a few lines, for protocol tests that need no data files: the ToyNet of
// toy_model.hpp (12 genes) regressing a fixed linear map of random inputs. Training and scoring
// draw only from local generators seeded by their arguments, so ranks running as threads stay
// deterministic. It keeps one extra state, "trace" (rule Donor, like an RL replay buffer):
//   trace.origin  int64  the init seed of the member that created this trace (fresh members)
//   trace.steps   int64  training calls made with this trace
// so tests can see where a member's extra state came from.
#include <ATen/CPUGeneratorImpl.h>

#include <cstdint>
#include <memory>

#include "pbtnas/core/config_section.hpp"
#include "pbtnas/tasks/registry.hpp"
#include "pbtnas/tasks/task.hpp"
#include "support/toy_model.hpp"

namespace pbtnas::test {

class ToyTask : public Task {
 public:
  explicit ToyTask(ExtraInherit trace_rule = ExtraInherit::Donor) : space_(toy_space()), trace_rule_(trace_rule) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
    map_ = at::normal(0.0, 1.0, {kToyWidth, 2}, gen);
    val_x_ = at::normal(0.0, 1.0, {64, kToyWidth}, gen);
    test_x_ = at::normal(0.0, 1.0, {64, kToyWidth}, gen);
  }

  const SearchSpace& space() const override { return space_; }

  Member create(const Genome& genome, std::uint64_t init_seed, torch::Device device) const override {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(init_seed);
    Member m;
    m.genome = genome;
    m.device = device;
    ToyNet net(genome), avg(genome);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : net->parameters()) p.copy_(at::normal(0.0, 0.5, p.sizes(), gen));
      auto src = net->named_parameters();
      for (auto& p : avg->named_parameters()) p.value().copy_(src[p.key()]);
    }
    m.model = net.ptr();
    m.average = avg.ptr();
    m.optimizers.push_back(std::make_unique<torch::optim::AdamW>(net->parameters(), torch::optim::AdamWOptions(1e-2)));
    m.extra.push_back({"trace.origin", torch::scalar_tensor(static_cast<std::int64_t>(init_seed & 0xffffffffu), torch::kLong)});
    m.extra.push_back({"trace.steps", torch::scalar_tensor(static_cast<std::int64_t>(0), torch::kLong)});
    return m;
  }

  StepStats train(Member& m, int epoch_begin, int epochs, std::uint64_t seed) const override {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    auto* net = dynamic_cast<ToyNetImpl*>(m.model.get());
    net->train();
    StepStats s;
    double total = 0.0;
    for (int e = 0; e < epochs; ++e)
      for (int step = 0; step < 4; ++step) {
        const torch::Tensor x = at::normal(0.0, 1.0, {16, kToyWidth}, gen);
        for (auto& opt : m.optimizers) opt->zero_grad();
        torch::Tensor loss = torch::mse_loss(net->forward(x), x.matmul(map_));
        loss.backward();
        for (auto& opt : m.optimizers) opt->step();
        total += loss.item<double>();
        s.samples += 16;
      }
    s.train_loss = total / std::max(1, 4 * epochs);
    s.diverged = !std::isfinite(s.train_loss);
    for (auto& e : m.extra)
      if (e.name == "trace.steps") e.tensor += 1;
    (void)epoch_begin;
    return s;
  }

  double fitness(Member& m) const override { return -error(m, val_x_); }
  double test_score(Member& m) const override { return -error(m, test_x_); }
  std::string fitness_name() const override { return "neg_mse"; }
  std::vector<ExtraState> extra_state() const override { return {{"trace", trace_rule_}}; }

 private:
  double error(Member& m, const torch::Tensor& x) const {
    torch::NoGradGuard no_grad;
    auto* net = dynamic_cast<ToyNetImpl*>(m.model.get());
    net->eval();
    const double e = torch::mse_loss(net->forward(x), x.matmul(map_)).item<double>();
    net->train();
    return e;
  }

  SearchSpace space_;
  ExtraInherit trace_rule_;
  torch::Tensor map_, val_x_, test_x_;
};

// What adding a task takes (docs/architecture.md, "Adding a task"): an options struct that
// parses and validates its section, and an entry. Section `toy:` with one key,
// `trace_rule: donor | parent1 | fresh`.
struct ToyOptions : TaskOptions {
  std::string trace_rule = "donor";
  void validate() const { check_choice("toy.trace_rule", trace_rule, {"donor", "parent1", "fresh"}); }
  static ToyOptions parse(ConfigSection s) {
    ToyOptions o;
    s.get("trace_rule", o.trace_rule);
    s.reject_unknown();
    o.validate();
    return o;
  }
  ExtraInherit rule() const {
    return trace_rule == "donor" ? ExtraInherit::Donor : trace_rule == "fresh" ? ExtraInherit::Fresh : ExtraInherit::Parent1;
  }
};

inline TaskEntry toy_task_entry() {
  TaskEntry e;
  e.name = "toy";
  e.parse = [](ConfigSection s) -> std::shared_ptr<const TaskOptions> {
    return std::make_shared<ToyOptions>(ToyOptions::parse(std::move(s)));
  };
  e.space = [](const TaskOptions&) { return toy_space(); };
  e.make = [](const TaskOptions& o, const TaskContext&) -> std::unique_ptr<Task> {
    return std::make_unique<ToyTask>(options_as<ToyOptions>(o, "toy").rule());
  };
  return e;
}

}  // namespace pbtnas::test
