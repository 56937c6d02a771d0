#pragma once
// Task `toy`: a whole task without data, for protocol tests and `pbtnas bench-scale`. A ToyNet
// (eleven searchable residual cells, a weightless activation gene, a fixed BatchNorm1d "norm"
// and a fixed linear "head", width 4) regresses a fixed linear map of random inputs. Training and
// scoring draw only from generators seeded by their arguments, so ranks running as threads stay
// deterministic. It keeps one extra state, "trace" (rule configurable, like an RL replay buffer):
//   trace.origin  int64  the init seed of the member that created this trace (fresh members)
//   trace.steps   int64  training calls made with this trace
// so tests can see where a member's extra state came from.
//   cell option 0: Linear(W, W) -> act -> Linear(W, W)          (4 tensors)
//   cell option 1: Linear(W, 2W) -> act -> Linear(2W, W)        (4 tensors, other shapes)
//   cell option 2: Linear(W, W, no bias) -> act -> Linear(W, W) (3 tensors: count changes)
// Section `toy:` (docs/config.md): trace_rule (donor | parent1 | fresh), steps_per_epoch
// (gradient steps of 16 samples per epoch; 0 = no training work, for protocol benchmarks).
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "pbtnas/core/config.hpp"
#include "pbtnas/core/search_space.hpp"
#include "pbtnas/tasks/task.hpp"

namespace pbtnas {
class ConfigSection;
struct TaskEntry;
}  // namespace pbtnas

namespace pbtnas::toy {

constexpr int kToyCells = 11;
constexpr int kToyWidth = 4;

struct ToyNetImpl : torch::nn::Module {
  explicit ToyNetImpl(const Genome& genome);
  torch::Tensor forward(torch::Tensor x);

  Genome genome_;
  torch::nn::ModuleList cells;
  torch::nn::BatchNorm1d norm{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(ToyNet);

SearchSpace toy_space();

struct ToyOptions : TaskOptions {
  std::string trace_rule = "donor";
  int steps_per_epoch = 4;
  void validate() const;
  static ToyOptions parse(ConfigSection s);
  ExtraInherit rule() const;
};

class ToyTask : public Task {
 public:
  // `hyper`: hyperparameter genes appended to the space; the toy task knows "lr" (AdamW, default 1e-2).
  explicit ToyTask(ExtraInherit trace_rule = ExtraInherit::Donor, int steps_per_epoch = 4,
                   const std::vector<HyperParameter>& hyper = {});

  const SearchSpace& space() const override { return space_; }
  Member create(const Genome& genome, std::uint64_t init_seed, torch::Device device) const override;
  StepStats train(Member& m, int epoch_begin, int epochs, std::uint64_t seed) const override;
  double fitness(Member& m) const override { return -error(m, val_x_); }
  double test_score(Member& m) const override { return -error(m, test_x_); }
  std::string fitness_name() const override { return "neg_mse"; }
  torch::Tensor forward_batch(Member& m) const override;
  std::vector<ExtraState> extra_state() const override { return {{"trace", trace_rule_}}; }

 private:
  double error(Member& m, const torch::Tensor& x) const;

  SearchSpace space_;
  ExtraInherit trace_rule_;
  int steps_per_epoch_;
  torch::Tensor map_, val_x_, test_x_;
};

TaskEntry toy_task_entry();

}  // namespace pbtnas::toy
