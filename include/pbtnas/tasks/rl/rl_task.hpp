#pragma once
// The RL task (docs/rl.md): PBT-NAS over DrQ-v2 agents on one MuJoCo environment. A member is
// Member::model = {actor, critic} (and the encoder with pixel input, docs/rl.md), Member::average =
// {critic} (the target critic), two Adam optimizers (actor, critic; a third, the encoder's, with
// pixels) and Member::extra = its replay buffer ("replay.*", inherited from the
// donor by a mixed child, docs/algorithm.md Q3) and its last evaluation ("eval.return").
// With rl.replay: shared the members carry no buffer between generations: the population shares
// one pool (pool.hpp, the task's SharedState), and a member's replay entries hold only its steps
// of the generation it trains, until its worker moves them into the pool.
#include <cstdint>
#include <memory>

#include "pbtnas/tasks/registry.hpp"
#include "pbtnas/tasks/rl/agent.hpp"
#include "pbtnas/tasks/rl/env.hpp"
#include "pbtnas/tasks/rl/rl_options.hpp"
#include "pbtnas/tasks/task.hpp"

namespace pbtnas::rl {

TaskEntry rl_task_entry();

// The agent's parts inside a member made by RlTask::create (throws std::logic_error otherwise).
AgentParts agent_parts(Member& member);

class RlTask : public Task {
 public:
  RlTask(RlOptions cfg, std::uint64_t run_seed);

  const SearchSpace& space() const override { return space_; }
  Member create(const Genome& genome, std::uint64_t init_seed, torch::Device device) const override;
  // epochs * frames_per_epoch frames on a fresh environment seeded from `seed`, continuing the
  // global step from epoch_begin; then the fitness: the mean return of eval_episodes episodes of
  // the deterministic policy on an evaluation environment seeded from `seed` (so per member and
  // generation), stored in the member as "eval.return".
  // With rl.replay: shared, train_shared with an empty pool (a search calls train_shared; this is
  // for uses outside one, e.g. the final soup's evaluation with zero epochs).
  StepStats train(Member& member, int epoch_begin, int epochs, std::uint64_t seed) const override;
  // rl.replay: shared: a ReplayPool of rl.pool_capacity steps; member: none.
  std::unique_ptr<SharedState> make_shared_state() const override;
  // As train, but sampling from `shared` (a ReplayPool, as committed at the end of the previous
  // generation) and the member's own steps of this call, which it keeps in fresh replay entries.
  StepStats train_shared(Member& member, int epoch_begin, int epochs, std::uint64_t seed,
                         const SharedState& shared) const override;
  double fitness(Member& member) const override;   // the stored evaluation
  double test_score(Member& member) const override;  // final_eval_episodes, fixed seed
  std::string fitness_name() const override { return "return"; }
  // Its last evaluation's mean return and, with final_eval_episodes, the mean over those.
  std::vector<Metric> final_scores(double fitness, double test_score) const override;
  std::vector<Metric> final_metrics(Member& member) const override;
  std::vector<ExtraState> extra_state() const override;
  std::vector<std::string> mutation_groups() const override { return {"model.", "average."}; }

  const RlOptions& config() const { return cfg_; }
  // Mean return of `episodes` episodes of the deterministic policy on an environment seeded with
  // env_seed.
  double evaluate(Member& member, int episodes, std::uint64_t env_seed) const;

 private:
  StepStats run_step(Member& member, int epoch_begin, int epochs, std::uint64_t seed,
                     const class ReplayPool* pool) const;
  // Empty replay entries of `capacity` steps: state rows, or one frame per step (pixel input).
  NamedState empty_buffer(std::int64_t capacity) const;

  RlOptions cfg_;
  std::uint64_t run_seed_;
  SearchSpace space_;
  int obs_dim_ = 0, action_dim_ = 0;  // obs_dim_: the state size, or the encoder's repr_dim
};

}  // namespace pbtnas::rl
