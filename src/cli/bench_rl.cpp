// `pbtnas bench-rl CONFIG`: (a) milliseconds per agent update (rl::update: critic step, actor
// step, target soft update) at the config's sizes, and the same update in Python PyTorch
// (jobs/bench/rl_update.py, Debian's python3-torch) timed in the same run on the same
// architecture; (b) environment frames per second through Env::step with random actions (physics,
// observations and rewards), and raw MuJoCo physics steps per second of the same model under
// Debian's `mujoco-testspeed`.
#include <torch/torch.h>

#include <mujoco/mujoco.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "cli/bench_util.hpp"
#include "cli/commands.hpp"
#include "pbtnas/core/config.hpp"
#include "pbtnas/core/seed.hpp"
#include "pbtnas/nn/member.hpp"
#include "pbtnas/tasks/registry.hpp"
#include "pbtnas/tasks/rl/agent.hpp"
#include "pbtnas/tasks/rl/env.hpp"
#include "pbtnas/tasks/rl/rl_options.hpp"
#include "pbtnas/tasks/rl/rl_space.hpp"
#include "pbtnas/tasks/rl/rl_task.hpp"

namespace pbtnas::cli {
namespace {

// One architecture of the benchmark: the same op / activation / norm on every searchable layer of
// the actor and both Q networks, as a genome of the RL space.
struct BenchArch {
  std::string label, op, act;
  int feature_dim = 50;
  bool spectral = false;
  std::string encoder_op = "conv_3";  // pixel input: every searchable encoder layer
};

Genome genome_of(const SearchSpace& space, const BenchArch& a) {
  Genome g(space.size(), 0);
  for (std::size_t i = 0; i < space.size(); ++i) {
    const Gene& gene = space.gene(i);
    auto ends_with = [&](const std::string& suffix) {
      return gene.name.size() >= suffix.size() &&
             gene.name.compare(gene.name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    std::string want;
    if (gene.name.compare(0, 8, "encoder.") == 0 && ends_with(".op")) want = a.encoder_op;
    else if (ends_with(".op")) want = a.op;
    else if (ends_with(".act")) want = a.act;
    else if (ends_with(".feature_dim")) want = std::to_string(a.feature_dim);
    else if (ends_with(".norm")) want = a.spectral ? "spectral" : "none";
    else throw std::logic_error("bench-rl: unexpected gene '" + gene.name + "' in " + space.name());
    const auto it = std::find(gene.options.begin(), gene.options.end(), want);
    if (it == gene.options.end())
      throw std::logic_error("bench-rl: gene '" + gene.name + "' has no option '" + want + "'");
    g[i] = static_cast<int>(it - gene.options.begin());
  }
  return g;
}

// A pool of random batches at the config's sizes (the update's input; sampling the replay buffer
// is not part of rl::update and is not timed). The Python mirror builds its pool the same way.
std::vector<rl::Batch> random_batches(const rl::RlOptions& tc, std::int64_t obs_dim, std::int64_t action_dim,
                                      int n) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(2);
  const std::int64_t b = tc.batch_size;
  std::vector<rl::Batch> out;
  for (int i = 0; i < n; ++i) {
    rl::Batch x;
    if (tc.pixels()) {  // stacked uint8 frames
      const std::int64_t c = 3 * tc.frame_stack, sz = tc.image_size;
      x.obs = torch::randint(0, 256, {b, c, sz, sz}, gen, torch::kUInt8);
      x.next_obs = torch::randint(0, 256, {b, c, sz, sz}, gen, torch::kUInt8);
    } else {
      x.obs = torch::empty({b, obs_dim}).normal_(0.0, 1.0, gen);
      x.next_obs = torch::empty({b, obs_dim}).normal_(0.0, 1.0, gen);
    }
    x.action = torch::empty({b, action_dim}).uniform_(-1.0, 1.0, gen);
    x.reward = torch::empty({b, 1}).uniform_(0.0, static_cast<double>(tc.nstep), gen);
    x.discount = torch::full({b, 1}, std::pow(tc.discount, tc.nstep));
    out.push_back(std::move(x));
  }
  return out;
}

void bench_update(const BenchRlOptions& o, const RunConfig& cfg, const rl::RlOptions& tc, const BenchArch& arch,
                  int obs_dim, int action_dim) {
  const rl::RlTask task(tc, cfg.seed);
  const Genome genome = genome_of(task.space(), arch);
  Member member = task.create(genome, derive_seed(cfg.seed, -1, 0, Purpose::FreshInit), torch::kCPU);
  rl::AgentParts parts = rl::agent_parts(member);
  const std::int64_t params_a = count_parameters(*parts.nets->actor), params_c = count_parameters(*parts.nets->critic);
  const std::int64_t params_e = parts.nets->encoder ? count_parameters(*parts.nets->encoder) : 0;
  const std::vector<rl::Batch> batches = random_batches(tc, obs_dim, action_dim, 8);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const std::int64_t step = 0;  // sigma = stddev_start; the cost does not depend on it

  std::cout << "  [" << arch.label << "] every searchable layer " << arch.op << ", activations " << arch.act
            << ", feature dim " << arch.feature_dim << ", spectral norm " << (arch.spectral ? "on" : "off")
            << (tc.pixels() ? ", encoder layers " + arch.encoder_op + " on " + std::to_string(3 * tc.frame_stack) + "x" +
                                  std::to_string(tc.image_size) + "x" + std::to_string(tc.image_size) + " frames"
                            : std::string())
            << "; parameters actor " << params_a << " critic " << params_c
            << (tc.pixels() ? " encoder " + std::to_string(params_e) : std::string()) << " (target critic as the critic)\n";
  std::size_t k = 0;
  auto one = [&] {
    const rl::UpdateStats u = rl::update(tc, parts, batches[k++ % batches.size()], step, gen);
    if (!std::isfinite(u.critic_loss) || !std::isfinite(u.actor_loss))
      throw std::runtime_error("non-finite losses during the benchmark");
  };
  for (int i = 0; i < o.iters; ++i) one();  // warm-up block
  double best = std::numeric_limits<double>::infinity(), total = 0;
  for (int r = 0; r < o.reps; ++r) {
    const auto t0 = Clock::now();
    for (int i = 0; i < o.iters; ++i) one();
    const double s = since(t0);
    best = std::min(best, s);
    total += s;
  }
  const double cpp_ms = 1e3 * best / o.iters;
  std::printf("    C++ (LibTorch %s): %.3f ms per update (best of %d blocks of %d after %d warm-up; mean %.3f)\n",
              TORCH_VERSION, cpp_ms, o.reps, o.iters, o.iters, 1e3 * total / (o.iters * o.reps));
  std::fflush(stdout);

  if (o.python.empty()) return;
  std::ostringstream cmd;
  cmd << "OPENBLAS_NUM_THREADS=" << o.threads << " OMP_NUM_THREADS=" << o.threads << " " << shell_quote(o.python)
      << " " << shell_quote(o.script) << " --obs-dim " << obs_dim << " --action-dim " << action_dim << " --hidden "
      << tc.hidden_dim << " --batch " << tc.batch_size << " --feature-dim " << arch.feature_dim << " --op " << arch.op
      << " --act " << arch.act << " --spectral " << (arch.spectral ? 1 : 0) << " --lr " << tc.lr << " --tau "
      << tc.critic_tau << " --sigma " << rl::stddev_at(tc, step) << " --stddev-clip " << tc.stddev_clip
      << " --nstep " << tc.nstep << " --discount " << tc.discount << " --iters " << o.iters << " --reps " << o.reps
      << " --warmup " << o.iters << " --threads " << o.threads << " --seed 1";
  if (tc.pixels())
    cmd << " --pixels " << 3 * tc.frame_stack << " --image-size " << tc.image_size << " --encoder-op "
        << arch.encoder_op << " --shift-pad " << tc.shift_pad;
  const std::string out = capture(cmd.str(), "the Python benchmark");
  const auto brace = out.find('{');
  if (brace == std::string::npos) throw std::runtime_error("the Python benchmark printed no JSON line: " + out);
  const auto j = nlohmann::json::parse(out.substr(brace));
  const double py_ms = j.at("ms_per_update").get<double>();
  const auto py_a = j.at("params_actor").get<std::int64_t>(), py_c = j.at("params_critic").get<std::int64_t>();
  const auto py_e = j.value("params_encoder", std::int64_t{0});
  std::printf("    Python (PyTorch %s): %.3f ms per update (best of %d blocks of %d after %d warm-up; mean %.3f); "
              "parameters actor %lld critic %lld\n",
              j.value("torch", std::string("?")).c_str(), py_ms, o.reps, o.iters, o.iters,
              j.at("mean_ms_per_update").get<double>(), static_cast<long long>(py_a), static_cast<long long>(py_c));
  if (py_a != params_a || py_c != params_c || py_e != params_e)
    throw std::runtime_error("the Python mirror builds other networks (parameter counts differ); the ratio would be meaningless");
  std::printf("    ratio C++ / Python: %.2f (below 1: C++ is faster)\n", cpp_ms / py_ms);
  std::fflush(stdout);
}

// Writes the MJCF of the model loaded last (the env just made) to `path` with mj_saveLastXML and
// checks that it compiles back to a model of the same sizes and options.
void save_model(const mjModel* m, const std::string& env, const std::string& path) {
  char error[1000] = "";
  if (!mj_saveLastXML(path.c_str(), m, error, sizeof error))
    throw std::runtime_error("cannot save the MJCF of " + env + " to " + path + ": " + error);
  mjModel* back = mj_loadXML(path.c_str(), nullptr, error, sizeof error);
  if (!back) {
    std::filesystem::remove(path);
    throw std::runtime_error("the saved MJCF of " + env + " does not compile: " + error);
  }
  std::string diff;
  auto check = [&](bool equal, const char* what) {
    if (!equal) diff += std::string(diff.empty() ? "" : ", ") + what;
  };
  check(back->nq == m->nq && back->nv == m->nv && back->nu == m->nu, "nq/nv/nu");
  check(back->nbody == m->nbody && back->ngeom == m->ngeom && back->njnt == m->njnt, "nbody/ngeom/njnt");
  check(back->nsensor == m->nsensor, "nsensor");
  check(back->opt.timestep == m->opt.timestep && back->opt.integrator == m->opt.integrator &&
            back->opt.disableflags == m->opt.disableflags,
        "options");
  if (diff.empty()) {
    check(std::equal(m->jnt_limited, m->jnt_limited + m->njnt, back->jnt_limited), "jnt_limited");
    check(std::equal(m->actuator_ctrllimited, m->actuator_ctrllimited + m->nu, back->actuator_ctrllimited),
          "actuator_ctrllimited");
    double mass = 0;  // saved as text: equal to about 1e-6 relative
    for (int b = 0; b < m->nbody; ++b)
      mass = std::max(mass, std::abs(m->body_mass[b] - back->body_mass[b]) / std::max(1e-12, std::abs(m->body_mass[b])));
    check(mass < 1e-5, "body_mass");
  }
  mj_deleteModel(back);
  if (!diff.empty()) {
    std::filesystem::remove(path);
    throw std::runtime_error("the saved MJCF of " + env + " compiles to another model (" + diff + " differ); not comparing");
  }
}

void bench_env(const BenchRlOptions& o, const std::string& name) {
  auto env = rl::make_env(name, 1);
  const mjModel* m = env->physics().model();
  const int n_sub = static_cast<int>(std::lround(env->control_timestep() / m->opt.timestep));
  const std::string xml = (std::filesystem::temp_directory_path() /
                           ("pbtnas_bench_rl_" + name + "_" + std::to_string(getpid()) + ".xml")).string();
  if (!o.testspeed.empty()) save_model(m, name, xml);  // right after make_env: the last model loaded

  Rng rng(7);
  std::vector<float> a(static_cast<std::size_t>(env->action_dim()));
  double sink = 0;  // rewards and observations are used, so nothing is optimised away
  long contacts = 0;  // after each frame's last physics step
  auto frames = [&](int n) {
    for (int i = 0; i < n; ++i) {
      if (env->last()) env->reset();
      for (float& v : a) v = static_cast<float>(2.0 * rng.uniform() - 1.0);
      sink += env->step(a.data()) + env->observation()[0];
      contacts += env->physics().data()->ncon;
    }
  };
  env->reset();
  frames(std::min(o.frames, rl::Env::kTimeLimit));  // warm-up
  double best = std::numeric_limits<double>::infinity();
  contacts = 0;
  for (int r = 0; r < o.reps; ++r) {
    const auto t0 = Clock::now();
    frames(o.frames);
    best = std::min(best, since(t0));
  }
  const double fps = o.frames / best;
  std::printf("  %s (obs %d, action %d; %d physics steps of %g s per frame, %s): %.0f frames/s = %.0f physics "
              "steps/s through Env::step (best of %d x %d frames; resets included; %.2f contacts per step; checksum %.3g)\n",
              name.c_str(), env->obs_dim(), env->action_dim(), n_sub, m->opt.timestep,
              m->opt.integrator == mjINT_RK4 ? "RK4" : "Euler", fps, fps * n_sub, o.reps, o.frames,
              static_cast<double>(contacts) / (static_cast<double>(o.frames) * o.reps), sink);
  std::fflush(stdout);
  if (o.testspeed.empty()) return;

  const long nstep = static_cast<long>(o.frames) * n_sub;
  std::ostringstream cmd;
  cmd << shell_quote(o.testspeed) << " " << shell_quote(xml) << " " << nstep << " 1 " << o.ctrlnoise;
  double best_sps = 0, testspeed_contacts = -1;
  std::string out;
  try {
    for (int r = 0; r < o.reps; ++r) {
      out = capture(cmd.str() + " 2>&1", "mujoco-testspeed");
      std::smatch match;
      if (!std::regex_search(out, match, std::regex(R"(Steps per second\s*:\s*([0-9.eE+]+))")))
        throw std::runtime_error("cannot read 'Steps per second' from mujoco-testspeed's output:\n" + out);
      best_sps = std::max(best_sps, std::stod(match[1].str()));
      if (std::regex_search(out, match, std::regex(R"(Contacts per step\s*:\s*([0-9.eE+]+))")))
        testspeed_contacts = std::stod(match[1].str());
    }
  } catch (...) {
    std::filesystem::remove(xml);
    throw;
  }
  std::filesystem::remove(xml);
  std::printf("    mujoco-testspeed (1 thread, ctrlnoise %g, raw mj_step from the model's initial state: no "
              "observations, rewards, resets or action mapping): %.0f physics steps/s (best of %d x %ld steps; "
              "%.2f contacts per step); Env::step reaches %.0f%% of it\n",
              o.ctrlnoise, best_sps, o.reps, nstep, testspeed_contacts, 100.0 * fps * n_sub / best_sps);
  std::fflush(stdout);
}

}  // namespace

int bench_rl_command(const BenchRlOptions& o) {
  try {
    if (o.iters < 1 || o.reps < 1 || o.threads < 1 || o.frames < 1)
      throw std::invalid_argument("--iters, --reps, --threads and --frames must be >= 1");
    if (o.part != "both" && o.part != "update" && o.part != "env")
      throw std::invalid_argument("--part must be both, update or env, got '" + o.part + "'");
    RunConfig cfg = load_run_config(o.config);
    if (cfg.task != "rl")
      throw std::invalid_argument("bench-rl needs a config with task: rl (e.g. jobs/configs/smoke_rl.yaml), got task '" +
                                  cfg.task + "' in " + o.config + "; for task: gan use bench-gan");
    const rl::RlOptions tc = cfg.options<rl::RlOptions>();
    const bool openblas = set_compute_threads(o.threads);
    int obs_dim = 0, action_dim = 0;
    {
      const auto env = rl::make_env(tc.env, 0);
      obs_dim = tc.pixels() ? static_cast<int>(rl::EncoderImpl::repr_dim(tc.image_size)) : env->obs_dim();
      action_dim = env->action_dim();
    }
    std::cout << "bench-rl: " << o.config << "  env " << tc.env << " (obs " << obs_dim << ", action " << action_dim
              << ")  hidden " << tc.hidden_dim << "  batch " << tc.batch_size << "  threads " << o.threads
              << (openblas ? " (OpenBLAS capped too)" : "") << "\n";

    if (o.part != "env") {
      std::cout << "agent update (rl::update: critic step, actor step, target soft update; random batches, the "
                   "replay sampling is not timed):\n";
      bench_update(o, cfg, tc, {"fixed", "linear", "relu", 50, false}, obs_dim, action_dim);
      if (o.expensive)
        bench_update(o, cfg, tc, {"most expensive genome", "residual_2", "swish", 150, true, "residual_7"}, obs_dim,
                     action_dim);
    }
    if (o.part != "update") {
      std::cout << "environment steps (random actions in [-1, 1], 1 thread; Env::step = physics + observation + "
                   "reward, mujoco-testspeed = raw physics only):\n";
      if (o.all_envs) {
        for (const auto& e : rl::env_registry()) bench_env(o, e.name);
      } else {
        bench_env(o, tc.env);
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pbtnas bench-rl: " << e.what() << std::endl;
    return 2;
  }
}

}  // namespace pbtnas::cli
