// `pbtnas run`: every rank parses the config; rank 0 coordinates, the others work.
#include <torch/torch.h>

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "pbtnas/core/config.hpp"
#include "pbtnas/io/generation_index.hpp"
#include "pbtnas/io/inspect.hpp"
#include "pbtnas/io/member_file.hpp"
#include "pbtnas/core/layout.hpp"
#include "pbtnas/core/log.hpp"
#include "pbtnas/mpi/mpi_transport.hpp"
#include "pbtnas/io/run_files.hpp"
#include "pbtnas/run/coordinator.hpp"
#include "pbtnas/run/worker.hpp"
#include "pbtnas/tasks/registry.hpp"

namespace pbtnas::cli {
namespace {

// Stop requests arrive as signals, so this one flag is process-wide by necessity.
std::atomic<int> g_stop_requests{0};

void on_stop_signal(int) {
  if (g_stop_requests.fetch_add(1) >= 1) {
    // Second request: abandon the generation in progress now; committed ones are intact.
    const char msg[] = "pbtnas: second stop request: abandoning the current generation\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    _exit(kExitCheckpointed);
  }
}

}  // namespace

torch::Device choose_device(const RunConfig& cfg, int local_rank, Logger& log) {
  const bool cuda = torch::cuda::is_available();
  if (cfg.device == "cuda" && !cuda)
    throw std::runtime_error("runtime.device is 'cuda' but this LibTorch sees no CUDA device (a CPU-only build, or "
                             "no GPU in the allocation); set runtime.device to auto or cpu");
  if (cfg.device == "cpu" || !cuda) return torch::kCPU;
  const int gpu = gpu_for_local_rank(local_rank, static_cast<int>(torch::cuda::device_count()));
  return gpu < 0 ? torch::Device(torch::kCPU) : torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(gpu));
}

int threads_for(const RunConfig& cfg, const MpiTransport& t) {
  return threads_for_worker(cfg.threads_per_rank, static_cast<int>(std::thread::hardware_concurrency()),
                            t.local_workers());
}

std::atomic<int>& stop_requests() { return g_stop_requests; }

void install_stop_handler() { std::signal(SIGUSR1, on_stop_signal); }

int run_command(int argc, char** argv, const std::string& config_path, const std::string& out) {
  MpiSession mpi(&argc, &argv);
  install_crash_handler();
  install_stop_handler();
  MpiTransport transport;
  RunConfig cfg;
  try {
    cfg = load_run_config(config_path);
    Layout check(cfg.selection.population_size, transport.size());
  } catch (const std::exception& e) {
    if (transport.rank() == 0) std::cerr << "pbtnas: " << e.what() << std::endl;
    return 2;
  }
  return run_search(transport, cfg, out);
}

// Whether rank 0 redraws its progress line in place: PBTNAS_PROGRESS=redraw or lines; by default
// only on a terminal outside SLURM. (Open MPI gives every rank a pseudo-terminal even when
// mpirun's output goes to a file, so launchers that know better set PBTNAS_PROGRESS.)
bool redraw_progress() {
  const char* mode = std::getenv("PBTNAS_PROGRESS");
  if (mode && std::string(mode) == "redraw") return true;
  if (mode && std::string(mode) == "lines") return false;
  return isatty(STDOUT_FILENO) && !std::getenv("SLURM_JOB_ID");
}

int run_search(MpiTransport& transport, const RunConfig& cfg, const std::string& out) {
  Logger log(transport.rank());
  log.set_redraw(transport.rank() == 0 && redraw_progress());
  const int threads = threads_for(cfg, transport);
  if (transport.rank() == 0) {
    try {
      const SearchSpace space = task_space(cfg);
      return io::run_coordinator_on_disk(transport, cfg, space, out, log, &g_stop_requests);
    } catch (const WorkerTimeout& e) {
      // The silent worker will not finish by itself: end the whole job.
      log.warn(std::string("error: ") + e.what());
      std::cerr.flush();
      transport.abort(kExitWorkerLost);
    } catch (const std::exception& e) {
      log.warn(std::string("error: ") + e.what());
      std::cerr.flush();
      transport.abort(2);
    }
  }
  set_compute_threads(threads);
  std::unique_ptr<Task> task;
  std::string task_error;
  torch::Device device = torch::kCPU;
  try {
    device = choose_device(cfg, transport.local_rank(), log);
    task = make_task(cfg, device, &log);
  } catch (const std::exception& e) {
    task_error = e.what();
  }
  try {
    Worker worker(transport, cfg, task.get(), task_error, device, threads, log);
    return worker.run();
  } catch (const std::exception& e) {
    log.warn(std::string("error: ") + e.what());
    std::cerr.flush();
    transport.abort(2);
  }
}

int inspect_command(const std::string& file) {
  try {
    io::inspect(file, std::cout);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pbtnas inspect: " << e.what() << std::endl;
    return 2;
  }
}

}  // namespace pbtnas::cli
