// pbtnas command line: run, inspect, bench-exchange, bench-gan.
#include <CLI/CLI.hpp>

#include <dlfcn.h>
#include <execinfo.h>
#include <torch/torch.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <iostream>

#include "cli/commands.hpp"

namespace {

// On a crash, print the signal and a raw backtrace to stderr before dying (async-signal-safe
// calls only), so that a failure on a cluster node leaves something to act on.
void on_fatal_signal(int sig) {
  const char* head = "pbtnas: fatal signal ";
  (void)!write(STDERR_FILENO, head, std::strlen(head));
  const char* name = strsignal(sig);
  (void)!write(STDERR_FILENO, name, std::strlen(name));
  (void)!write(STDERR_FILENO, "; backtrace:\n", 13);
  void* frames[64];
  const int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

bool pbtnas::cli::set_compute_threads(int threads) {
  torch::set_num_threads(threads);
  using SetThreads = void (*)(int);
  auto set_blas = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set_blas) set_blas(threads);
  return set_blas != nullptr;
}

void pbtnas::cli::install_crash_handler() {
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, on_fatal_signal);
}

int main(int argc, char** argv) {
  pbtnas::cli::install_crash_handler();
  CLI::App app{"pbtnas: neural architecture search by Population Based Training (PBT-NAS) over MPI.\n"
               "Rank 0 coordinates; ranks 1..R-1 train members. Start runs with mpirun/srun."};
  app.set_version_flag("--version", std::string("pbtnas ") + PBTNAS_VERSION);
  app.require_subcommand(1);

  std::string config, out, file;
  auto* run = app.add_subcommand("run", "Run (or resume) a search: mpirun -n R pbtnas run CONFIG --out DIR");
  run->add_option("config", config, "YAML config (examples in jobs/configs/)")->required();
  run->add_option("--out", out, "Output folder: checkpoints, metrics.jsonl, summary.json. A folder that "
                                "holds a committed generation of the same config is resumed.")->required();

  auto* inspect = app.add_subcommand("inspect", "Print a checkpoint: population, lineage, tensors");
  inspect->add_option("file", file, "index.h5 (a generation) or member_NNN.h5")->required();

  int bench_mib = 64, bench_reps = 5;
  auto* bench = app.add_subcommand("bench-exchange",
                                   "Benchmark (mpirun -n 3): exploit transfer of a real member state vs raw MPI_Send");
  bench->add_option("config", config, "YAML config whose task builds the members")->required();
  bench->add_option("--reps", bench_reps, "repetitions per measurement");
  bench->add_option("--raw-mib", bench_mib, "unused (the raw baseline sends the same bytes as the exchange)");

  pbtnas::cli::BenchGanOptions gan;
  auto* bench_gan = app.add_subcommand(
      "bench-gan", "Benchmark: ms per GAN iteration and s per FID at a config's sizes, vs the same step in Python PyTorch");
  bench_gan->add_option("config", gan.config, "YAML config with task: gan (e.g. jobs/configs/fmnist_ganhard.yaml)")->required();
  bench_gan->add_option("--iters", gan.iters, "iterations per timed epoch");
  bench_gan->add_option("--reps", gan.reps, "timed epochs");
  bench_gan->add_option("--threads", gan.threads, "torch threads (both sides)");
  bench_gan->add_option("--python", gan.python, "Python with torch for the comparison (\"\" to skip)");
  bench_gan->add_option("--script", gan.script, "the Python mirror of the GAN step");

  CLI11_PARSE(app, argc, argv);
  if (*bench_gan) return pbtnas::cli::bench_gan_command(gan);
  if (*run) return pbtnas::cli::run_command(argc, argv, config, out);
  if (*inspect) return pbtnas::cli::inspect_command(file);
  if (*bench) return pbtnas::cli::bench_exchange_command(argc, argv, config, bench_reps);
  return 1;
}
