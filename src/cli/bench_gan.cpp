// `pbtnas bench-gan CONFIG`: milliseconds per GAN training iteration (GanTask::train: a D step,
// and a G step + EMA update every n_critic iterations) and seconds per FID evaluation, at the
// config's widths and batch sizes, and the same training iteration in Python PyTorch
// (jobs/bench/gan_step.py, Debian's python3-torch) timed in the same run on the same genome.
#include <torch/cuda.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "cli/bench_util.hpp"
#include "cli/commands.hpp"
#include "pbtnas/core/config.hpp"
#include "pbtnas/tasks/gan/gan_entry.hpp"
#include "pbtnas/tasks/gan/gan_task.hpp"
#include "pbtnas/core/log.hpp"
#include "pbtnas/core/population.hpp"
#include "pbtnas/core/seed.hpp"
#include "pbtnas/tasks/registry.hpp"

namespace pbtnas::cli {
namespace {

// The --device value as a torch::Device, with a message naming the fix when it cannot be used.
torch::Device bench_device(const std::string& name) {
  std::optional<torch::Device> device;
  try {
    device = torch::Device(name);
  } catch (const std::exception&) {
  }
  if (!device || !(device->is_cpu() || device->is_cuda()))
    throw std::invalid_argument("--device '" + name + "' is not a device; use cpu, cuda or cuda:N");
  if (device->is_cuda()) {
    if (!torch::cuda::is_available())
      throw std::invalid_argument("--device " + name +
                                  ": this LibTorch sees no CUDA device (a CPU-only build, or no GPU "
                                  "here); use --device cpu");
    const auto n = static_cast<int>(torch::cuda::device_count());
    if (device->has_index() && device->index() >= n)
      throw std::invalid_argument("--device " + name + ": only " + std::to_string(n) +
                                  " CUDA device(s) here; use cuda:0 to cuda:" +
                                  std::to_string(n - 1));
  }
  return *device;
}

// Waits for the device's queued work, so that wall-clock times include it.
void sync(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

}  // namespace

int bench_gan_command(const BenchGanOptions& o) {
  try {
    RunConfig cfg = load_run_config(o.config);
    if (cfg.task != "gan") throw std::invalid_argument("bench-gan needs a config with task: gan, got '" + cfg.task + "'");
    if (o.iters < 1 || o.reps < 1 || o.threads < 1) throw std::invalid_argument("--iters, --reps and --threads must be >= 1");
    gan::GanOptions tc = cfg.options<gan::GanOptions>();
    if (o.iters % tc.n_critic != 0)
      throw std::invalid_argument("--iters must be a multiple of gan.n_critic (" + std::to_string(tc.n_critic) +
                                  ") so that both sides run the same number of G steps");
    const torch::Device device = bench_device(o.device);
    set_compute_threads(o.threads);
    Logger log(0);
    tc.iterations_per_epoch = o.iters;
    gan::GanData data = gan::load_gan_data(tc);
    auto features = gan::make_feature_net(tc, data, device, &log);
    gan::GanTask task(tc, cfg.seed, features, std::move(data));

    // The genome of member 0 of the run's initial population (balanced sampling).
    const Population initial(task.space(), cfg.selection.population_size, cfg.seed);
    const Genome genome = initial.members()[0].genome;
    Member member = task.create(genome, derive_seed(cfg.seed, -1, 0, Purpose::FreshInit), device);
    auto net = std::dynamic_pointer_cast<gan::GanNetImpl>(member.model);
    const std::int64_t params_g = count_parameters(*net->generator), params_d = count_parameters(*net->discriminator);

    std::cout << "bench-gan: " << o.config << "  space " << tc.space << "  gf " << tc.model.gf_dim << " df "
              << tc.model.df_dim << " latent " << tc.model.latent_dim << "  d_batch " << tc.d_batch << " (G batch "
              << tc.g_batch_multiplier * tc.d_batch << ", n_critic " << tc.n_critic << ")  threads " << o.threads << "  device "
              << device.str() << "\n";
    std::cout << "  genome (member 0 of the initial population): " << task.space().describe(genome) << "\n";
    std::cout << "  parameters: generator " << params_g << "  discriminator " << params_d << "\n";

    task.train(member, 0, 1, 1);  // warm-up epoch of `iters` iterations
    sync(device);
    // Mean over reps epochs of `iters` iterations (the Python side runs the same count in one go).
    const auto t0 = Clock::now();
    const StepStats s = task.train(member, 1, o.reps, 1);
    sync(device);
    if (s.diverged) throw std::runtime_error("training diverged during the benchmark");
    const double cpp_ms = 1e3 * since(t0) / (static_cast<double>(o.iters) * o.reps);
    const auto tf = Clock::now();
    const double fid = task.fid(member);
    sync(device);
    const double fid_s = since(tf);
    std::cout << "  C++ (LibTorch " << TORCH_VERSION << "): " << cpp_ms << " ms per iteration (mean of " << o.reps
              << " x " << o.iters << ")\n";
    std::cout << "  FID evaluation: " << fid_s << " s for " << tc.fid_samples << " samples (" << features->describe()
              << "; FID " << fid << ")\n";

    if (o.python.empty()) return 0;
    std::ostringstream genome_arg;
    for (std::size_t i = 0; i < genome.size(); ++i) genome_arg << (i ? "," : "") << genome[i];
    std::ostringstream cmd;
    cmd << "OPENBLAS_NUM_THREADS=" << o.threads << " OMP_NUM_THREADS=" << o.threads << " " << shell_quote(o.python) << " " << shell_quote(o.script) << " --space " << tc.space << " --genome "
        << genome_arg.str() << " --gf-dim " << tc.model.gf_dim << " --df-dim " << tc.model.df_dim << " --latent-dim "
        << tc.model.latent_dim << " --bottom-width " << tc.model.bottom_width << " --channels "
        << tc.model.image_channels << " --faithful-d-block " << (tc.model.faithful_d_block ? 1 : 0) << " --d-batch "
        << tc.d_batch << " --g-batch-multiplier " << tc.g_batch_multiplier << " --n-critic " << tc.n_critic
        << " --iters " << o.iters * o.reps << " --warmup " << o.iters << " --seed 1" << " --threads " << o.threads
        << " --device " << shell_quote(device.str());
    const std::string out = capture(cmd.str(), "the Python benchmark");
    const auto j = nlohmann::json::parse(out.substr(out.find('{')));
    const double py_ms = j.at("ms_per_iter").get<double>();
    const auto py_g = j.at("params_generator").get<std::int64_t>(), py_d = j.at("params_discriminator").get<std::int64_t>();
    std::cout << "  Python (PyTorch " << j.value("torch", std::string("?")) << "): " << py_ms << " ms per iteration (mean of "
              << o.iters * o.reps << "); parameters generator " << py_g << " discriminator " << py_d << "\n";
    if (py_g != params_g || py_d != params_d)
      throw std::runtime_error("the Python mirror builds another network (parameter counts differ); the ratio would be meaningless");
    std::printf("  ratio Python / C++: %.2fx (above 1: C++ is faster)\n", py_ms / cpp_ms);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pbtnas bench-gan: " << e.what() << std::endl;
    return 2;
  }
}

}  // namespace pbtnas::cli
