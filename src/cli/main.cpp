// pbtnas command line: run, check, status, study, study-report, inspect, soup, report, export,
// bench-exchange, bench-scale, and bench-TASK for each task with a benchmark (bench-gan, bench-rl).
// Each subcommand's options are declared by one add_* function below; main parses and hands over to the subcommand's function (commands.hpp).
#include <CLI/CLI.hpp>

#include <iostream>
#include <map>

#include "cli/commands.hpp"
#include "pbtnas/index/h5_array.hpp"
#include "pbtnas/report/html_report.hpp"
#include "pbtnas/tasks/registry.hpp"

namespace {

using namespace pbtnas::cli;

// Every subcommand's parsed options.
struct Parsed {
  RunOptions run;
  CheckOptions check;
  StatusOptions status;
  StudyOptions study;
  StudyReportOptions study_report;
  CLI::Option* study_report_out = nullptr;
  std::string inspect_file;
  bool inspect_tensors = false;
  std::string soup_out;
  std::string report_out, report_html;
  ExportOptions export_opts;
  std::string bench_config;
  int bench_reps = 5;
  std::map<std::string, BenchTaskOptions> task_bench;  // by task name (bench-TASK)
  BenchScaleOptions scale;
};

void add_run(CLI::App& app, Parsed& p) {
  auto* run = app.add_subcommand("run", "Run (or resume) a search: mpirun -n R pbtnas run CONFIG --out DIR");
  run->add_option("config", p.run.config, "YAML config (examples in jobs/configs/)")->required();
  run->add_option("--out", p.run.out, "Output folder: checkpoints, metrics.jsonl, summary.json (docs/outputs.md). A "
                                      "folder that holds a committed generation of this run is resumed.")
      ->required();
  run->add_option("--set", p.run.sets, "KEY=VALUE: override a config key for this run (e.g. max_epochs=20, "
                                       "classify.lr=0.05); recorded in the run's stored config")
      ->allow_extra_args(false);
}

void add_check_and_status(CLI::App& app, Parsed& p) {
  auto* check = app.add_subcommand(
      "check", "Check a config as a run would (config, ranks, output folder, device, data) without training; "
               "--print-config prints the effective config with every default");
  check->add_option("config", p.check.config, "YAML config")->required();
  check->add_option("--set", p.check.sets, "KEY=VALUE overrides, as for run")->allow_extra_args(false);
  check->add_option("--ranks", p.check.ranks, "the rank count of the run (mpirun -n R): check the population "
                                              "against it (0: not checked)")->check(CLI::Range(0, 1 << 20));
  check->add_option("--out", p.check.out, "the run's output folder: check that it can be used or resumed");
  check->add_flag("--print-config", p.check.print_config,
                  "print the effective config (every key with its value or default) and nothing else");

  auto* status = app.add_subcommand(
      "status", "A run folder: its config, progress, best member, and whether it is finished or resumes");
  status->add_option("out", p.status.out, "the --out folder of a pbtnas run")->required();
  status->add_option("--config", p.status.config, "also say whether this config (with --set) may resume the run");
  status->add_option("--set", p.status.sets, "KEY=VALUE overrides of --config")->allow_extra_args(false);
}

void add_study(CLI::App& app, Parsed& p) {
  auto* study = app.add_subcommand(
      "study", "Run (or resume) a study: every (variant, seed) of STUDY as an ordinary run, one after another, then "
               "study-report. mpirun -n R pbtnas study STUDY --out DIR (docs/study.md)");
  study->add_option("study", p.study.study, "study file (examples in jobs/studies/)")->required();
  study->add_option("--out", p.study.out, "Study folder: DIR/<variant>/seed_<seed>/ per run. Finished runs are "
                                          "skipped, interrupted ones resumed.")->required();
  study->add_option("--only", p.study.only, "Run only run I (0-based, see --list; a SLURM array task), no report "
                                            "(-1: every run)")->check(CLI::Range(-1, 1 << 30));
  study->add_flag("--list", p.study.list, "Print the runs (index, variant, seed, folder, state) and run nothing");
  auto* report = app.add_subcommand(
      "study-report", "Aggregate a study folder: DIR/study.json, DIR/study.md, DIR/study.png (mean, std, rank-sum and "
                      "signed-rank tests); with --pooled, one report over several study folders (settings)");
  report->add_option("dir", p.study_report.dirs, "the --out of pbtnas study (several with --pooled)")->required();
  report->add_flag("--pooled", p.study_report.pooled,
                   "One signed-rank test per variant over all folders, paired by (setting, seed), as the paper's "
                   "tests: OUT/pooled.md, OUT/pooled.json");
  p.study_report_out = report->add_option("--out", p.study_report.out,
                                          "--pooled: the folder for pooled.md and pooled.json");
}

void add_results(CLI::App& app, Parsed& p) {
  auto* inspect = app.add_subcommand("inspect", "Print a checkpoint (population, lineage, a summary of the tensors) "
                                                "or, given a run folder, its status");
  inspect->add_option("file", p.inspect_file, "index.h5 (a generation), member_NNN.h5, or a run folder")->required();
  inspect->add_flag("--tensors", p.inspect_tensors, "list every tensor (name, dtype, shape, statistics)");

  auto* soup = app.add_subcommand(
      "soup", "After a run: the greedy model soup of its final population (members sharing the best member's "
              "architecture), evaluated next to the best member; OUT/soup.json, OUT/soup.h5 (docs/algorithm.md)");
  soup->add_option("out", p.soup_out, "the --out folder of a pbtnas run")->required();

  auto* report = app.add_subcommand(
      "report", "Write OUT/report.html (one self-contained page: fitness, lineage, gene provenance, architecture, "
                "samples, timings, config) and OUT/report/*.png of a run (docs/report.md)");
  report->add_option("out", p.report_out, "the --out folder of a pbtnas run (finished or not)")->required();
  report->add_option("--html", p.report_html, "write the page here instead of OUT/report.html");

  auto* export_cmd = app.add_subcommand(
      "export", "Write a member's network for plain PyTorch: DIR/model.pt (state dict), DIR/architecture.json, "
                "DIR/example.pt (inputs and pbtnas's outputs); rebuild it with jobs/tools/pbtnas_models.py (docs/export.md)");
  export_cmd->add_option("file", p.export_opts.file,
                         "member file: OUT/best_ever.h5 or OUT/checkpoints/gen_NNNNNN/member_NNN.h5")->required();
  export_cmd->add_option("--out", p.export_opts.out, "folder to write (created if needed)")->required();
  export_cmd->add_option("--config", p.export_opts.config,
                         "the run's YAML config (\"\": the config stored in the run's index.h5)");
  export_cmd->add_option("--examples", p.export_opts.examples, "inputs in example.pt")->check(CLI::Range(1, 10000));
}

// bench-TASK for every registered task with a benchmark (TaskEntry::bench), with the options it declares.
void add_task_benches(CLI::App& app, Parsed& p) {
  for (const pbtnas::TaskEntry& entry : pbtnas::task_registry()) {
    if (!entry.bench.run) continue;
    BenchTaskOptions& o = p.task_bench[entry.name];
    auto* sub = app.add_subcommand("bench-" + entry.name, entry.bench.help);
    sub->add_option("config", o.config, "YAML config with task: " + entry.name + " (e.g. " +
                                            entry.bench.example_config + ")")
        ->required();
    for (const pbtnas::BenchFlag& f : entry.bench.flags) {
      if (f.is_switch) {
        sub->add_flag("--" + f.name, o.switches[f.name], f.help);
      } else {
        o.values[f.name] = f.default_value;
        sub->add_option("--" + f.name, o.values[f.name], f.help);
      }
    }
  }
}

void add_bench_mpi(CLI::App& app, Parsed& p) {
  auto* exchange = app.add_subcommand("bench-exchange",
                                      "Benchmark (mpirun -n 3): exploit transfer of a real member state vs raw MPI_Send");
  exchange->add_option("config", p.bench_config, "YAML config whose task builds the members")->required();
  exchange->add_option("--reps", p.bench_reps, "repetitions per measurement")->check(CLI::Range(1, 100000));

  auto* scale = app.add_subcommand(
      "bench-scale", "Benchmark (mpirun -n R): protocol, exploit and checkpoint time per generation and memory per "
                     "rank at population sizes N, with the data-free toy task; --plot CSV draws the scaling curve");
  BenchScaleOptions& s = p.scale;
  scale->add_option("--members", s.members, "population sizes N, e.g. --members 16 64 256 1024")
      ->check(CLI::Range(4, 65536));
  scale->add_option("--generations", s.generations, "generations per population size")->check(CLI::Range(1, 1000));
  scale->add_option("--steps-per-epoch", s.steps_per_epoch, "toy training steps per member and generation")
      ->check(CLI::Range(0, 100000));
  scale->add_option("--seed", s.seed, "run seed");
  scale->add_option("--out", s.out, "folder for the runs (each removed after its measurement)");
  scale->add_flag("--keep", s.keep, "keep the run folders");
  scale->add_option("--csv", s.csv, "append the per-generation rows to this CSV file");
  scale->add_option("--plot", s.plot_csv, "no MPI: draw the figures from this CSV (rows of several rank counts)");
  scale->add_option("--png", s.png, "with --plot: the overhead figure (the plan-time figure gets _plan.png)");
}

int report_command(const std::string& out, const std::string& html) {
  try {
    pbtnas::report::ReportOptions options;
    options.html_path = html;
    options.task_words = [](const std::string& task) {
      const pbtnas::TaskEntry& entry = pbtnas::find_task(task);
      return pbtnas::report::TaskWords{entry.name, entry.fitness_label};
    };
    if (!html.empty()) {
      // Refuse a page path that cannot be written before anything (figures) is written.
      const std::string why = writable_file_problem(html);
      if (!why.empty()) throw std::runtime_error("--html " + html + ": " + why);
    }
    const auto files = pbtnas::report::write_run_report(out, options);
    for (const auto& note : files.notes) std::cout << "note: " << note << "\n";
    std::cout << "report: " << files.html << "\n";
    for (const auto& f : files.figures) std::cout << "figure: " << f << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pbtnas report: " << e.what() << std::endl;
    return 2;
  }
}

int dispatch(CLI::App& app, Parsed& p, int argc, char** argv) {
  const std::string name = app.get_subcommands().front()->get_name();
  if (name == "run") return run_command(argc, argv, p.run);
  if (name == "check") return check_command(p.check);
  if (name == "status") return status_command(p.status);
  if (name == "study") return study_command(argc, argv, p.study);
  if (name == "study-report") {
    p.study_report.out_given = p.study_report_out->count() > 0;
    return study_report_command(p.study_report);
  }
  if (name == "inspect") return inspect_command(p.inspect_file, p.inspect_tensors);
  if (name == "soup") return soup_command(p.soup_out);
  if (name == "report") return report_command(p.report_out, p.report_html);
  if (name == "export") return export_command(p.export_opts);
  if (name == "bench-exchange") return bench_exchange_command(argc, argv, p.bench_config, p.bench_reps);
  if (name.rfind("bench-", 0) == 0 && p.task_bench.count(name.substr(6)))
    return bench_task_command(name.substr(6), p.task_bench[name.substr(6)]);
  if (name == "bench-scale") return bench_scale_command(argc, argv, p.scale);
  return 1;
}

// `pbtnas runn`: CLI11 would say "A subcommand is required"; say which one was meant.
int unknown_subcommand(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return 0;
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names.push_back(sub->get_name());
    if (sub->get_name() == argv[1]) return 0;
  }
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  const std::string near = closest_subcommand(argv[1], names);
  std::cerr << "pbtnas: '" << argv[1] << "' is not a subcommand"
            << (near.empty() ? std::string() : " (did you mean '" + near + "'?)") << "; subcommands: " << list
            << " (pbtnas --help)" << std::endl;
  return static_cast<int>(CLI::ExitCodes::ExtrasError);
}

}  // namespace

int main(int argc, char** argv) {
  install_crash_handler();
  pbtnas::io::install_hdf5_array_reader();  // classify.data.format: hdf5 (the tasks include no HDF5)
  CLI::App app{"pbtnas: neural architecture search by Population Based Training (PBT-NAS) over MPI.\n"
               "Rank 0 coordinates; ranks 1..R-1 train members. Start runs with mpirun/srun."};
  app.set_version_flag("--version", std::string("pbtnas ") + PBTNAS_VERSION);
  app.option_defaults()->always_capture_default();  // every --help shows the defaults
  app.require_subcommand(1);
  Parsed p;
  add_run(app, p);
  add_check_and_status(app, p);
  add_study(app, p);
  add_results(app, p);
  add_bench_mpi(app, p);
  add_task_benches(app, p);
  if (const int rc = unknown_subcommand(app, argc, argv)) return rc;
  CLI11_PARSE(app, argc, argv);
  return dispatch(app, p, argc, argv);
}
