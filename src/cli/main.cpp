// pbtnas command line: run, study, study-report, inspect, soup, report, export, bench-exchange, bench-gan, bench-rl,
// bench-scale.
#include <CLI/CLI.hpp>

#include <dlfcn.h>
#include <execinfo.h>
#include <torch/torch.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <iostream>

#include "cli/commands.hpp"
#include "pbtnas/index/h5_array.hpp"
#include "pbtnas/report/html_report.hpp"
#include "pbtnas/tasks/registry.hpp"

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
  pbtnas::io::install_hdf5_array_reader();  // classify.data.format: hdf5 (the tasks include no HDF5)
  CLI::App app{"pbtnas: neural architecture search by Population Based Training (PBT-NAS) over MPI.\n"
               "Rank 0 coordinates; ranks 1..R-1 train members. Start runs with mpirun/srun."};
  app.set_version_flag("--version", std::string("pbtnas ") + PBTNAS_VERSION);
  app.require_subcommand(1);

  std::string config, out, file;
  auto* run = app.add_subcommand("run", "Run (or resume) a search: mpirun -n R pbtnas run CONFIG --out DIR");
  run->add_option("config", config, "YAML config (examples in jobs/configs/)")->required();
  run->add_option("--out", out, "Output folder: checkpoints, metrics.jsonl, summary.json. A folder that "
                                "holds a committed generation of the same config is resumed.")->required();

  pbtnas::cli::StudyOptions study_opts;
  auto* study = app.add_subcommand(
      "study", "Run (or resume) a study: every (variant, seed) of STUDY as an ordinary run, one after another, then "
               "study-report. mpirun -n R pbtnas study STUDY --out DIR (docs/study.md)");
  study->add_option("study", study_opts.study, "study file (examples in jobs/studies/)")->required();
  study->add_option("--out", study_opts.out, "Study folder: DIR/<variant>/seed_<seed>/ per run. Finished runs are "
                                             "skipped, interrupted ones resumed.")->required();
  study->add_option("--only", study_opts.only, "Run only run I (0-based, see --list; a SLURM array task), no report")
      ->check(CLI::NonNegativeNumber);
  study->add_flag("--list", study_opts.list, "Print the runs (index, variant, seed, folder, state) and run nothing");
  pbtnas::cli::StudyReportOptions report_opts;
  auto* study_report = app.add_subcommand(
      "study-report", "Aggregate a study folder: DIR/study.json, DIR/study.md, DIR/study.png (mean, std, rank-sum and "
                      "signed-rank tests); with --pooled, one report over several study folders (settings)");
  study_report->add_option("dir", report_opts.dirs, "the --out of pbtnas study (several with --pooled)")->required();
  study_report->add_flag("--pooled", report_opts.pooled,
                         "One signed-rank test per variant over all folders, paired by (setting, seed), as the paper's "
                         "tests: OUT/pooled.md, OUT/pooled.json");
  auto* report_out_opt = study_report->add_option("--out", report_opts.out,
                                              "--pooled: the folder for pooled.md and pooled.json (default: the current folder)");

  auto* inspect = app.add_subcommand("inspect", "Print a checkpoint: population, lineage, tensors");
  inspect->add_option("file", file, "index.h5 (a generation) or member_NNN.h5")->required();

  std::string soup_out;
  auto* soup = app.add_subcommand(
      "soup", "After a run: the greedy model soup of its final population (members sharing the best member's "
              "architecture), evaluated next to the best member; OUT/soup.json, OUT/soup.h5 (docs/algorithm.md)");
  soup->add_option("out", soup_out, "the --out folder of a pbtnas run")->required();

  std::string report_out, report_html;
  auto* report = app.add_subcommand(
      "report", "Write OUT/report.html (one self-contained page: fitness, lineage, gene provenance, architecture, "
                "samples, timings, config) and OUT/report/*.png of a run (docs/report.md)");
  report->add_option("out", report_out, "the --out folder of a pbtnas run (finished or not)")->required();
  report->add_option("--html", report_html, "write the page here instead of OUT/report.html");

  pbtnas::cli::ExportOptions export_opts;
  auto* export_cmd = app.add_subcommand(
      "export", "Write a member's network for plain PyTorch: DIR/model.pt (state dict), DIR/architecture.json, "
                "DIR/example.pt (inputs and pbtnas's outputs); rebuild it with jobs/tools/pbtnas_models.py (docs/export.md)");
  export_cmd->add_option("file", export_opts.file, "member file: OUT/best_ever.h5 or OUT/checkpoints/gen_NNNNNN/member_NNN.h5")
      ->required();
  export_cmd->add_option("--out", export_opts.out, "folder to write (created if needed)")->required();
  export_cmd->add_option("--config", export_opts.config,
                         "the run's YAML config (default: the config stored in the run's index.h5)");
  export_cmd->add_option("--examples", export_opts.examples, "inputs in example.pt")->check(CLI::Range(1, 10000));

  int bench_reps = 5;
  auto* bench = app.add_subcommand("bench-exchange",
                                   "Benchmark (mpirun -n 3): exploit transfer of a real member state vs raw MPI_Send");
  bench->add_option("config", config, "YAML config whose task builds the members")->required();
  bench->add_option("--reps", bench_reps, "repetitions per measurement")->check(CLI::Range(1, 100000));

  pbtnas::cli::BenchGanOptions gan;
  auto* bench_gan = app.add_subcommand(
      "bench-gan", "Benchmark: ms per GAN iteration and s per FID at a config's sizes, vs the same step in Python PyTorch");
  bench_gan->add_option("config", gan.config, "YAML config with task: gan (e.g. jobs/configs/fmnist_ganhard.yaml)")->required();
  bench_gan->add_option("--iters", gan.iters, "iterations per timed epoch")->check(CLI::Range(1, 1000000));
  bench_gan->add_option("--reps", gan.reps, "timed epochs")->check(CLI::Range(1, 100000));
  bench_gan->add_option("--threads", gan.threads, "torch threads (both sides)");
  bench_gan->add_option("--device", gan.device, "cpu, cuda or cuda:N (both sides; the FID network too)");
  bench_gan->add_option("--python", gan.python, "Python with torch for the comparison (\"\" to skip)");
  bench_gan->add_option("--script", gan.script, "the Python mirror of the GAN step");

  pbtnas::cli::BenchRlOptions rlb;
  auto* bench_rl = app.add_subcommand(
      "bench-rl", "Benchmark: ms per RL agent update at a config's sizes vs the same update in Python PyTorch, and "
                  "environment frames/s vs mujoco-testspeed");
  bench_rl->add_option("config", rlb.config, "YAML config with task: rl (e.g. jobs/configs/smoke_rl.yaml)")->required();
  bench_rl->add_option("--iters", rlb.iters, "updates per timed block (and in the warm-up block)")->check(CLI::Range(1, 1000000));
  bench_rl->add_option("--reps", rlb.reps, "timed blocks (best of; also for the environment timings)")->check(CLI::Range(1, 100000));
  bench_rl->add_option("--threads", rlb.threads, "torch threads (both sides)");
  bench_rl->add_flag("--expensive", rlb.expensive, "also time the most expensive genome (every layer residual_2, "
                                                   "feature dim 150, swish, spectral norm on)");
  bench_rl->add_option("--part", rlb.part, "both, update or env");
  bench_rl->add_option("--frames", rlb.frames, "frames per timed environment block");
  bench_rl->add_flag("--all-envs", rlb.all_envs, "time every registered environment, not only the config's");
  bench_rl->add_option("--ctrlnoise", rlb.ctrlnoise, "mujoco-testspeed's control noise");
  bench_rl->add_option("--python", rlb.python, "Python with torch for the comparison (\"\" to skip)");
  bench_rl->add_option("--script", rlb.script, "the Python mirror of the RL update");
  bench_rl->add_option("--testspeed", rlb.testspeed, "MuJoCo's testspeed sample (\"\" to skip)");

  pbtnas::cli::BenchScaleOptions scale;
  auto* bench_scale = app.add_subcommand(
      "bench-scale", "Benchmark (mpirun -n R): protocol, exploit and checkpoint time per generation and memory per "
                     "rank at population sizes N, with the data-free toy task; --plot CSV draws the scaling curve");
  bench_scale->add_option("--members", scale.members, "population sizes N, e.g. --members 16 64 256 1024")
      ->check(CLI::Range(4, 65536));
  bench_scale->add_option("--generations", scale.generations, "generations per population size")->check(CLI::Range(1, 1000));
  bench_scale->add_option("--steps-per-epoch", scale.steps_per_epoch, "toy training steps per member and generation")
      ->check(CLI::Range(0, 100000));
  bench_scale->add_option("--seed", scale.seed, "run seed");
  bench_scale->add_option("--out", scale.out, "folder for the runs (each removed after its measurement)");
  bench_scale->add_flag("--keep", scale.keep, "keep the run folders");
  bench_scale->add_option("--csv", scale.csv, "append the per-generation rows to this CSV file");
  bench_scale->add_option("--plot", scale.plot_csv, "no MPI: draw the figures from this CSV (rows of several rank counts)");
  bench_scale->add_option("--png", scale.png, "with --plot: the overhead figure (the plan-time figure gets _plan.png)");

  CLI11_PARSE(app, argc, argv);
  if (*bench_scale) return pbtnas::cli::bench_scale_command(argc, argv, scale);
  if (*bench_gan) return pbtnas::cli::bench_gan_command(gan);
  if (*bench_rl) return pbtnas::cli::bench_rl_command(rlb);
  if (*run) return pbtnas::cli::run_command(argc, argv, config, out);
  if (*study) return pbtnas::cli::study_command(argc, argv, study_opts);
  if (*study_report) {
    report_opts.out_given = report_out_opt->count() > 0;
    return pbtnas::cli::study_report_command(report_opts);
  }
  if (*inspect) return pbtnas::cli::inspect_command(file);
  if (*soup) return pbtnas::cli::soup_command(soup_out);
  if (*export_cmd) return pbtnas::cli::export_command(export_opts);
  if (*report) {
    try {
      pbtnas::report::ReportOptions options;
      options.html_path = report_html;
      options.task_words = [](const std::string& task) {
        const pbtnas::TaskEntry& entry = pbtnas::find_task(task);
        return pbtnas::report::TaskWords{entry.name, entry.fitness_label};
      };
      const auto files = pbtnas::report::write_run_report(report_out, options);
      for (const auto& note : files.notes) std::cout << "note: " << note << "\n";
      std::cout << "report: " << files.html << "\n";
      for (const auto& f : files.figures) std::cout << "figure: " << f << "\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "pbtnas report: " << e.what() << std::endl;
      return 2;
    }
  }
  if (*bench) return pbtnas::cli::bench_exchange_command(argc, argv, config, bench_reps);
  return 1;
}
