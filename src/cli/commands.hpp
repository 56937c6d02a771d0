#pragma once
#include <string>

namespace pbtnas::cli {

// Prints a backtrace on SIGSEGV/SIGBUS/SIGFPE/SIGILL (re-installed after MPI_Init, which sets
// handlers of its own).
void install_crash_handler();

// Sets LibTorch's intra-op threads and, when the BLAS behind it is OpenBLAS, OpenBLAS's own
// thread count to `threads` (torch::set_num_threads does not reach OpenBLAS, whose extra
// threads otherwise spin on cores that other ranks use). Returns true when OpenBLAS was found.
bool set_compute_threads(int threads);

int run_command(int argc, char** argv, const std::string& config, const std::string& out);
int inspect_command(const std::string& file);
int bench_exchange_command(int argc, char** argv, const std::string& config, int reps);

struct BenchGanOptions {
  std::string config;
  int iters = 20;         // iterations per timed epoch
  int reps = 3;           // timed epochs (C++: best of; Python: iters * reps iterations)
  int threads = 1;
  std::string python = "/usr/bin/python3";  // "" = skip the Python comparison
  std::string script = "jobs/bench/gan_step.py";
};
int bench_gan_command(const BenchGanOptions& options);

}  // namespace pbtnas::cli
