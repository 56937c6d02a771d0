#pragma once
// A Task knows one problem: its search space, how to build a member from a genome, how to train
// it for some epochs, and how to score it. Workers drive tasks; the coordinator never sees one.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "pbtnas/nn/member.hpp"
#include "pbtnas/nn/shared_state.hpp"
#include "pbtnas/core/search_space.hpp"

namespace pbtnas {

struct StepStats {
  double train_loss = 0.0;     // mean loss over the step (NaN/inf when diverged)
  std::int64_t samples = 0;    // training samples processed
  bool diverged = false;       // a non-finite loss was seen; training stopped early
};

struct Metric {
  std::string name;
  double value = 0.0;
};

class Task {
 public:
  virtual ~Task() = default;
  virtual const SearchSpace& space() const = 0;
  // A freshly initialised member; the same (genome, seed) gives bit-identical tensors.
  virtual Member create(const Genome& genome, std::uint64_t init_seed, torch::Device device) const = 0;
  // Trains for `epochs` epochs starting at epoch `epoch_begin`; all randomness from `seed`.
  virtual StepStats train(Member& member, int epoch_begin, int epochs, std::uint64_t seed) const = 0;
  // Population-wide state (nn/shared_state.hpp; e.g. the RL task's shared replay pool), one
  // object per worker, empty (its data placed by run/shared_node.hpp): null when the task (with its
  // options) has none.
  virtual std::unique_ptr<SharedState> make_shared_state() const { return nullptr; }
  // train() for a task with shared state: the member reads `shared` (as committed at the end of the
  // previous generation, never changed while members train) and keeps its own contribution in
  // itself until the worker takes it (SharedState::take_contribution). Default: train().
  virtual StepStats train_shared(Member& member, int epoch_begin, int epochs, std::uint64_t seed,
                                 const SharedState& shared) const {
    (void)shared;
    return train(member, epoch_begin, epochs, seed);
  }
  // Fitness used for selection (higher is better; validation split only).
  virtual double fitness(Member& member) const = 0;
  // One forward pass of a batch through the member's network as it is used after the search (the
  // network selection.objectives' -latency_ms times; the worker sets eval mode and no gradients).
  // Returns its output; an undefined tensor when the task has no such pass (the default).
  virtual torch::Tensor forward_batch(Member& member) const {
    (void)member;
    return {};
  }
  // Held-out score reported for the final best member, never used for selection.
  virtual double test_score(Member& member) const = 0;
  virtual std::string fitness_name() const = 0;  // e.g. "val_acc"
  // The scores of the final population's best member in the task's words, for the run's last
  // lines and summary.json "scores" (fitness and test_score as the worker measured them).
  // Default: {fitness_name(): fitness, "test": test_score}.
  virtual std::vector<Metric> final_scores(double fitness, double test_score) const {
    return {{fitness_name(), fitness}, {"test", test_score}};
  }
  // The final evaluation of the best-ever member (after the search), written to the summary and
  // the checkpoint. Default: the fitness re-measured and the held-out test score.
  virtual std::vector<Metric> final_metrics(Member& member) const {
    return {{fitness_name(), fitness(member)}, {"test", test_score(member)}};
  }
  // Per-member state beyond the networks (e.g. an RL replay buffer) that the task keeps in
  // Member::extra: checkpointed with the member, restored on resume, and moved with it at an
  // exploit by each entry's rule (member.hpp, ExtraInherit). Default: none.
  virtual std::vector<ExtraState> extra_state() const { return {}; }
  // The exported groups whose tensors weight mutation (algorithm: mutation) perturbs.
  virtual std::vector<std::string> mutation_groups() const { return {"model."}; }
  // Writes a picture of what the member produces (e.g. generated samples) as a PNG file; returns
  // false, writing nothing, when the task has no such picture.
  virtual bool write_preview(Member& member, const std::string& png_path) const {
    (void)member;
    (void)png_path;
    return false;
  }
};

}  // namespace pbtnas
