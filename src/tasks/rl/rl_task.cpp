#include "pbtnas/tasks/rl/rl_task.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "pbtnas/core/config_section.hpp"
#include "pbtnas/core/hash.hpp"
#include "pbtnas/core/seed.hpp"
#include "pbtnas/tasks/progress.hpp"
#include "pbtnas/tasks/rl/pool.hpp"
#include "pbtnas/tasks/rl/rl_space.hpp"

namespace pbtnas::rl {

namespace {
constexpr const char* kEvalReturn = "eval.return";

std::uint64_t mix(std::uint64_t seed, std::uint64_t salt) { return mix64(seed ^ (kGoldenGamma * salt)); }

torch::Tensor* find_extra(Member& m, const std::string& name) {
  for (auto& e : m.extra)
    if (e.name == name) return &e.tensor;
  return nullptr;
}
}  // namespace

AgentParts agent_parts(Member& member) {
  AgentParts p;
  auto nets = std::dynamic_pointer_cast<AgentNetsImpl>(member.model);
  auto target = std::dynamic_pointer_cast<TargetNetsImpl>(member.average);
  const std::size_t opts = nets && nets->encoder ? 3 : 2;
  if (!nets || !target || member.optimizers.size() != opts)
    throw std::logic_error("rl task: the member was not made by RlTask::create");
  p.nets = AgentNets(nets);
  p.target = TargetNets(target);
  p.actor_opt = member.optimizers[0].get();
  p.critic_opt = member.optimizers[1].get();
  if (opts == 3) p.encoder_opt = member.optimizers[2].get();
  return p;
}

namespace {
// Pixel observations of one environment: renders a frame after each reset and agent step and
// keeps the last frame_stack of them (DrQ-v2's frame stack: at a reset, the first frame repeated).
class PixelObs {
 public:
  PixelObs(const RlOptions& cfg, Env& env)
      : env_(env), size_(cfg.image_size), camera_(cfg.pixel_camera()), backend_(parse_gl_backend(cfg.render)),
        k_(cfg.frame_stack), frame_(3 * static_cast<std::size_t>(size_) * size_),
        stack_(torch::zeros({3 * k_, size_, size_}, torch::kUInt8)) {}
  // Renders the current state; `reset`: fills the whole stack with it.
  const std::vector<std::uint8_t>& capture(bool reset) {
    env_.render(size_, camera_, backend_, frame_.data());
    const std::size_t n = frame_.size();
    std::uint8_t* s = stack_.data_ptr<std::uint8_t>();
    if (reset) {
      for (int i = 0; i < k_; ++i) std::copy(frame_.begin(), frame_.end(), s + i * n);
    } else {
      std::memmove(s, s + n, (static_cast<std::size_t>(k_) - 1) * n);
      std::copy(frame_.begin(), frame_.end(), s + (static_cast<std::size_t>(k_) - 1) * n);
    }
    return frame_;
  }
  const torch::Tensor& stacked() const { return stack_; }

 private:
  Env& env_;
  int size_, camera_;
  GlBackend backend_;
  int k_;
  std::vector<std::uint8_t> frame_;
  torch::Tensor stack_;
};
}  // namespace

RlTask::RlTask(RlOptions cfg, std::uint64_t run_seed)
    : cfg_(std::move(cfg)), run_seed_(run_seed), space_(cfg_.pixels() ? rl_pixel_space() : rl_state_space()) {
  cfg_.validate();
  auto env = make_env(cfg_.env, 0);
  obs_dim_ = cfg_.pixels() ? static_cast<int>(EncoderImpl::repr_dim(cfg_.image_size)) : env->obs_dim();
  action_dim_ = env->action_dim();
  if (cfg_.pixels()) ensure_gl(parse_gl_backend(cfg_.render));  // fail early, with the fix
}

Member RlTask::create(const Genome& genome, std::uint64_t init_seed, torch::Device device) const {
  const RlArch arch = decode(space_, genome);
  InitStream init(init_seed, cfg_.sn_init_quirk);
  AgentNets nets(obs_dim_, action_dim_, cfg_.hidden_dim, arch, init, cfg_.pixels() ? 3 * cfg_.frame_stack : 0);
  // The target critic starts as an exact copy of the critic.
  InitStream scratch(init_seed ^ 0x5EEDULL, cfg_.sn_init_quirk);
  Critic target_critic(obs_dim_, action_dim_, cfg_.hidden_dim, arch, scratch);
  load_module_state(*target_critic, module_state(*nets->critic));
  TargetNets target(target_critic);
  nets->to(device);
  target->to(device);
  nets->train();
  target->train();  // DrQ-v2 keeps the target in training mode (spectral-norm power iterations)

  Member m;
  m.genome = genome;
  m.model = nets.ptr();
  m.average = target.ptr();
  m.device = device;
  auto adam = [&](const std::vector<torch::Tensor>& params) {
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(cfg_.lr).betas({0.9, 0.999}).eps(1e-8).weight_decay(0.0));
  };
  m.optimizers.push_back(adam(nets->actor->parameters()));
  m.optimizers.push_back(adam(nets->critic->parameters()));
  if (nets->encoder) m.optimizers.push_back(adam(nets->encoder->parameters()));
  // A shared run's members keep no buffer between generations (train_shared makes one per step).
  if (!cfg_.shared_replay()) m.extra = empty_buffer(cfg_.replay_capacity);
  m.extra.push_back({kEvalReturn, torch::full({}, std::numeric_limits<double>::quiet_NaN(), torch::kDouble)});
  return m;
}

std::vector<ExtraState> RlTask::extra_state() const {
  // The released code gives a mixed child the donor's buffer (docs/algorithm.md Q3); the stored
  // evaluation belongs to the member that was evaluated, so a child starts without one.
  if (cfg_.shared_replay()) return {{"eval", ExtraInherit::Fresh}};
  return {{ReplayBuffer::kName, ExtraInherit::Donor}, {"eval", ExtraInherit::Fresh}};
}

NamedState RlTask::empty_buffer(std::int64_t capacity) const {
  if (cfg_.pixels()) return ReplayBuffer::create_frames(capacity, {3, cfg_.image_size, cfg_.image_size}, action_dim_);
  return ReplayBuffer::create(capacity, obs_dim_, action_dim_);
}

std::unique_ptr<SharedState> RlTask::make_shared_state() const {
  if (!cfg_.shared_replay()) return nullptr;
  return std::make_unique<ReplayPool>(cfg_.pool_capacity, empty_buffer(1));
}

StepStats RlTask::train(Member& member, int epoch_begin, int epochs, std::uint64_t seed) const {
  if (cfg_.shared_replay()) {  // outside a search (e.g. a soup's evaluation, epochs = 0): no pool
    const ReplayPool empty(cfg_.pool_capacity, empty_buffer(1));
    return train_shared(member, epoch_begin, epochs, seed, empty);
  }
  return run_step(member, epoch_begin, epochs, seed, nullptr);
}

StepStats RlTask::train_shared(Member& member, int epoch_begin, int epochs, std::uint64_t seed,
                               const SharedState& shared) const {
  if (!cfg_.shared_replay()) return train(member, epoch_begin, epochs, seed);
  const auto* pool = dynamic_cast<const ReplayPool*>(&shared);
  if (pool == nullptr) throw std::logic_error("rl task: the shared state is not a replay pool");
  // The member's own steps of this call: every step and the first step of every episode, without
  // wrapping (an episode has ceil(1000 / action_repeat) agent steps).
  const std::int64_t steps = static_cast<std::int64_t>(epochs) * cfg_.agent_steps_per_epoch();
  const std::int64_t episode = (Env::kTimeLimit + cfg_.action_repeat - 1) / cfg_.action_repeat;
  NamedState kept;
  for (auto& e : member.extra)
    if (e.name.compare(0, 7, "replay.") != 0) kept.push_back(std::move(e));
  member.extra = std::move(kept);
  for (auto& e : empty_buffer(std::max<std::int64_t>(2, steps + steps / episode + 2)))
    member.extra.push_back(std::move(e));
  return run_step(member, epoch_begin, epochs, seed, pool);
}

StepStats RlTask::run_step(Member& member, int epoch_begin, int epochs, std::uint64_t seed,
                           const ReplayPool* pool) const {
  AgentParts parts = agent_parts(member);
  ReplayBuffer buffer(member.extra);
  auto env = make_env(cfg_.env, mix(seed, 1));
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(mix(seed, 2));
  Rng rng(mix(seed, 3));
  const std::int64_t steps_per_epoch = cfg_.agent_steps_per_epoch();
  const std::int64_t first_step = static_cast<std::int64_t>(epoch_begin) * steps_per_epoch;
  const std::int64_t steps = static_cast<std::int64_t>(epochs) * steps_per_epoch;
  const std::int64_t seed_steps = cfg_.seed_frames / cfg_.action_repeat;

  StepStats stats;
  double loss_sum = 0;
  std::int64_t updates = 0;
  std::unique_ptr<PixelObs> pixels;
  if (cfg_.pixels()) pixels = std::make_unique<PixelObs>(cfg_, *env);
  const int frame_stack = cfg_.pixels() ? cfg_.frame_stack : 1;
  auto store = [&](const float* action, double reward, bool first) {
    if (pixels)
      buffer.add_frame(pixels->capture(first).data(), action, reward, first);
    else
      buffer.add(env->observation(), action, reward, first);
  };
  env->reset();
  store(nullptr, 0.0, true);
  for (std::int64_t t = 0; t < steps; ++t) {
    const std::int64_t step = first_step + t;
    if (env->last()) {
      env->reset();
      store(nullptr, 0.0, true);
    }
    const std::vector<float> a =
        pixels ? act_pixels(cfg_, parts.nets->encoder, parts.nets->actor, pixels->stacked(), step, false, gen, rng)
               : act(cfg_, parts.nets->actor, env->observation(), step, false, gen, rng);
    // Shared: the pool as committed before this step, then the member's own steps so far.
    const bool due = step >= seed_steps && step % cfg_.update_every_steps == 0;
    std::vector<RowRing> rings;
    if (due && pool) rings = {pool->rows(), buffer_rows(member.extra)};
    if (due && (pool ? candidate_rows(rings, cfg_.nstep) > 0 : buffer.size() > cfg_.nstep)) {
      const Batch batch = pool ? sample_rings(rings, cfg_.batch_size, cfg_.nstep, cfg_.discount, rng, frame_stack)
                               : buffer.sample(cfg_.batch_size, cfg_.nstep, cfg_.discount, rng, frame_stack);
      const UpdateStats u = update(cfg_, parts, batch, step, gen);
      if (!std::isfinite(u.critic_loss) || !std::isfinite(u.actor_loss)) {
        stats.train_loss = std::numeric_limits<double>::quiet_NaN();
        stats.diverged = true;
        return stats;
      }
      loss_sum += u.critic_loss;
      ++updates;
    }
    double reward = 0;
    for (int k = 0; k < cfg_.action_repeat && !env->last(); ++k) {
      reward += env->step(a.data());
      ++stats.samples;  // frames
    }
    store(a.data(), reward, false);
    report_train_progress(stats.samples, steps * cfg_.action_repeat);
  }
  stats.train_loss = updates > 0 ? loss_sum / static_cast<double>(updates) : 0.0;
  const double ret = evaluate(member, cfg_.eval_episodes, mix(seed, 4));
  *find_extra(member, kEvalReturn) = torch::full({}, ret, torch::kDouble);
  return stats;
}

double RlTask::evaluate(Member& member, int episodes, std::uint64_t env_seed) const {
  AgentParts parts = agent_parts(member);
  auto env = make_env(cfg_.env, env_seed);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(env_seed);
  Rng rng(env_seed);
  parts.nets->eval();
  std::unique_ptr<PixelObs> pixels;
  if (cfg_.pixels()) pixels = std::make_unique<PixelObs>(cfg_, *env);
  double total = 0;
  for (int e = 0; e < episodes; ++e) {
    env->reset();
    if (pixels) pixels->capture(true);
    while (!env->last()) {
      const std::vector<float> a =
          pixels ? act_pixels(cfg_, parts.nets->encoder, parts.nets->actor, pixels->stacked(), 0, true, gen, rng)
                 : act(cfg_, parts.nets->actor, env->observation(), 0, true, gen, rng);
      for (int k = 0; k < cfg_.action_repeat && !env->last(); ++k) total += env->step(a.data());
      if (pixels) pixels->capture(false);
    }
  }
  parts.nets->train();
  return total / episodes;
}

double RlTask::fitness(Member& member) const {
  const torch::Tensor* t = find_extra(member, kEvalReturn);
  if (!t) throw std::logic_error("rl task: the member has no stored evaluation");
  return t->item<double>();  // NaN until the member has trained once
}

double RlTask::test_score(Member& member) const {
  if (cfg_.final_eval_episodes == 0) return fitness(member);
  return evaluate(member, cfg_.final_eval_episodes, derive_seed(run_seed_, -1, 0, Purpose::Train));
}

std::vector<Metric> RlTask::final_scores(double fitness, double test_score) const {
  std::vector<Metric> m{{"return", fitness}};
  if (cfg_.final_eval_episodes > 0)
    m.push_back({"return over " + std::to_string(cfg_.final_eval_episodes) + " episodes", test_score});
  return m;
}

std::vector<Metric> RlTask::final_metrics(Member& member) const {
  std::vector<Metric> m{{"return", fitness(member)}};
  if (cfg_.final_eval_episodes > 0)
    m.push_back({"final_return_" + std::to_string(cfg_.final_eval_episodes) + "ep", test_score(member)});
  return m;
}

TaskEntry rl_task_entry() {
  TaskEntry e;
  e.name = "rl";
  e.fitness_label = "episode return";
  e.parse = [](ConfigSection s) -> std::shared_ptr<const TaskOptions> {
    return std::make_shared<RlOptions>(RlOptions::parse(std::move(s)));
  };
  e.space = [](const TaskOptions& o) {
    return options_as<RlOptions>(o, "rl").pixels() ? rl_pixel_space() : rl_state_space();
  };
  e.make = [](const TaskOptions& o, const TaskContext& ctx) -> std::unique_ptr<Task> {
    return std::make_unique<RlTask>(options_as<RlOptions>(o, "rl"), ctx.run_seed);
  };
  e.final_metric_names = [](const TaskOptions& o) {  // RlTask::final_metrics
    const int episodes = options_as<RlOptions>(o, "rl").final_eval_episodes;
    std::vector<std::string> names{"return"};
    if (episodes > 0) names.push_back("final_return_" + std::to_string(episodes) + "ep");
    return names;
  };
  return e;
}

}  // namespace pbtnas::rl
