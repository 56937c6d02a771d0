// `pbtnas run`: every rank parses the config; rank 0 coordinates, the others work.
#include <torch/torch.h>

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "cli/run_checks.hpp"
#include "cli/run_support.hpp"
#include "pbtnas/core/config.hpp"
#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/io/inspect.hpp"
#include "pbtnas/io/member_file.hpp"
#include "pbtnas/core/layout.hpp"
#include "pbtnas/core/log.hpp"
#include "pbtnas/mpi/mpi_transport.hpp"
#include "pbtnas/nn/compute_threads.hpp"
#include "pbtnas/io/run_files.hpp"
#include "pbtnas/run/coordinator_on_disk.hpp"
#include "pbtnas/protocol/coordinator.hpp"
#include "pbtnas/run/worker.hpp"
#include "pbtnas/tasks/registry.hpp"

namespace pbtnas::cli {
namespace {

// Stop requests arrive as signals, so this state is process-wide by necessity.
std::atomic<int> g_stop_requests{0};
// Whether this process tells the user about stop requests (rank 0 of the run), and whether its
// progress line may be on screen without a newline (redraw mode).
volatile std::sig_atomic_t g_announce = 0;
volatile std::sig_atomic_t g_redraw = 0;

void say(const char* text) { (void)!write(STDERR_FILENO, text, std::strlen(text)); }

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    default: return "a stop signal";
  }
}

// SIGUSR1, SIGINT, SIGTERM: the first finishes and commits the generation in progress (the
// coordinator polls the count), the second abandons it at once. Async-signal-safe calls only.
void on_stop_signal(int sig) {
  const int saved_errno = errno;
  const bool second = g_stop_requests.fetch_add(1) >= 1;
  if (g_announce) {
    say(g_redraw ? "\npbtnas: " : "pbtnas: ");
    say(signal_name(sig));
    if (second) {
      say(": a second stop request: abandoning the generation in progress; the committed generations are "
          "kept. Exit code 3; to resume, run the same command again\n");
    } else {
      say(": stop requested: the run stops with exit code 3 once the generation in progress is committed "
          "(a second SIGINT, SIGTERM or SIGUSR1 abandons it at once)\n");
    }
  }
  if (second) _exit(kExitCheckpointed);
  errno = saved_errno;
}

int signal_number(const std::string& name) {
  if (name == "INT") return SIGINT;
  if (name == "TERM") return SIGTERM;
  if (name == "USR1") return SIGUSR1;
  throw std::invalid_argument("testing.raise_signal.signal: '" + name + "' is not INT, TERM or USR1");
}

// The signal testing hooks (config.hpp, SignalHook) at the exact points the coordinator and the
// workers report: raise a real signal (the handler above takes it as if it came from outside), or
// wait for one from outside with a marker file for the test to watch. Only in a run that starts
// fresh: the same command (the same config) then resumes past them, even after a generation that
// the hook made abandon.
class SignalHooks final : public RunPoints {
 public:
  SignalHooks(const RunConfig& cfg, int rank, std::string out, Logger& log)
      : cfg_(cfg), rank_(rank), out_(std::move(out)), log_(log) {}

  void started(std::int64_t resumed_after) override { fresh_ = resumed_after < 0; }

  void at(RunPoint point, std::int64_t generation) override {
    if (!fresh_) return;
    const SignalHook& r = cfg_.raise_signal;
    if (r.enabled() && r.generation == generation && r.when == point && (r.rank < 0 || r.rank == rank_)) {
      log_.warn("testing.raise_signal: raising SIG" + r.signal + (r.count > 1 ? " twice" : "") + " at generation " +
                std::to_string(generation) + " (" + to_string(point) + ")");
      for (int i = 0; i < r.count; ++i) std::raise(signal_number(r.signal));
    }
    const SignalHook& w = cfg_.wait_for_signal;
    if (rank_ == 0 && w.enabled() && w.generation == generation && w.when == point) wait(w, generation);
  }

 private:
  void wait(const SignalHook& w, std::int64_t generation) {
    const std::string marker = out_ + "/testing_waiting_for_signal";
    const int target = g_stop_requests.load() + w.count;
    log_.warn("testing.wait_for_signal: at generation " + std::to_string(generation) + " (" + to_string(w.when) +
              "), waiting up to " + std::to_string(static_cast<int>(w.timeout_seconds)) + " s for " +
              (w.count > 1 ? "two stop signals" : "a stop signal"));
    std::ofstream(marker) << generation << " " << to_string(w.when) << "\n";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(w.timeout_seconds);
    while (g_stop_requests.load() < target && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::remove(marker.c_str());
    if (g_stop_requests.load() < target) log_.warn("testing.wait_for_signal: the signal did not come; going on");
  }

  const RunConfig& cfg_;
  int rank_;
  std::string out_;
  Logger& log_;
  bool fresh_ = false;
};

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

void install_stop_handler() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // interrupted reads and writes go on
  for (int sig : {SIGUSR1, SIGINT, SIGTERM}) sigaction(sig, &action, nullptr);
}

int run_command(int argc, char** argv, const RunOptions& o) {
  MpiSession mpi(&argc, &argv);
  install_crash_handler();
  install_stop_handler();
  MpiTransport transport;
  RunConfig cfg;
  try {
    // Every rank checks the inputs (nothing is created here), so that all of them stop together.
    cfg = load_config_with(o.config, o.sets);
    Layout check(cfg.selection.population_size, transport.size());
    const std::string why = out_folder_problem(o.out);
    if (!why.empty()) throw std::invalid_argument(why);
  } catch (const std::exception& e) {
    if (transport.rank() == 0) std::cerr << "pbtnas: " << e.what() << std::endl;
    return 2;
  }
  return run_search(transport, cfg, o.out);
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
  g_announce = transport.rank() == 0;
  g_redraw = log.redraw();
  SignalHooks hooks(cfg, transport.rank(), out, log);
  const int threads = threads_for(cfg, transport);
  if (transport.rank() == 0) {
    try {
      const SearchSpace space = task_space(cfg);
      const io::ConfigCheck check = [&cfg](const std::string& stored_yaml, int next_epoch) {
        return resume_verdict(cfg, stored_yaml, next_epoch);
      };
      return run_coordinator_on_disk(transport, cfg, space, out, log, &g_stop_requests, &hooks, check);
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
    Worker worker(transport, cfg, task.get(), task_error, device, threads, log, &hooks);
    return worker.run();
  } catch (const std::exception& e) {
    log.warn(std::string("error: ") + e.what());
    std::cerr.flush();
    transport.abort(2);
  }
}

int inspect_command(const std::string& file, bool tensors) {
  if (std::filesystem::is_directory(file)) return status_command(StatusOptions{file, "", {}});
  try {
    io::inspect(file, std::cout, tensors);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pbtnas inspect: " << e.what() << std::endl;
    return 2;
  }
}

}  // namespace pbtnas::cli
