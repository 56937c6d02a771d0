// `pbtnas bench-scale` under `mpirun -n R`: the real coordinator and workers (H5RunStore,
// member files, MPI exchange) running the data-free `toy` task with no training work, for
// populations of N members, so that what each generation costs is the protocol alone: rank 0's
// plan, the orders and reports, the exploit transfers and the checkpoint commit. Prints a row per
// generation and appends them to a CSV; `pbtnas bench-scale --plot CSV --png FILE` draws the
// scaling curve from the CSVs of several rank counts (docs/performance.md, "Scale").
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "cli/commands.hpp"
#include "pbtnas/nn/compute_threads.hpp"
#include "pbtnas/core/resources.hpp"
#include "pbtnas/io/run_files.hpp"
#include "pbtnas/mpi/mpi_transport.hpp"
#include "pbtnas/report/figures.hpp"
#include "pbtnas/protocol/coordinator.hpp"
#include "pbtnas/run/worker.hpp"
#include "pbtnas/tasks/registry.hpp"

namespace pbtnas::cli {
namespace {

namespace fs = std::filesystem;
constexpr double kMiB = 1048576.0;

// Keeps the generation summaries; prints nothing (the bench prints its own table).
class CollectingReport final : public RunReport {
 public:
  std::vector<GenerationSummary> generations;
  std::vector<std::string> warnings;
  void info(const std::string&) override {}
  void warn(const std::string& line) override { warnings.push_back(line); }
  void started(const RunStart&) override {}
  void scored(const GenerationSummary&) override {}
  void generation(const GenerationSummary& s) override {
    GenerationSummary copy = s;
    copy.reports.clear();  // per-member rows are not needed, and N of them per generation add up
    copy.genomes.clear();
    generations.push_back(std::move(copy));
  }
  void finished(const RunResult&) override {}
};

std::string config_text(int members, const BenchScaleOptions& o) {
  std::ostringstream y;
  y << "seed: " << o.seed << "\npopulation_size: " << members << "\nmax_epochs: " << o.generations
    << "\nepochs_step: 1\ntask: toy\ntoy:\n  steps_per_epoch: " << o.steps_per_epoch
    << "\ncheckpoint:\n  keep: 2\nruntime:\n  threads_per_rank: 1\n";
  return y.str();
}

struct Row {
  int ranks = 0, members = 0;
  std::int64_t generation = 0;
  double plan_ms = 0, train_overhead_s = 0, exploit_s = 0, checkpoint_s = 0, write_s = 0, overhead_s = 0, busy = 0;
  std::size_t children = 0;
  double mib_sent = 0, rank0_mib = 0, worker_mib = 0, worker_pss_mib = 0;
};

Row row_of(const GenerationSummary& s, int ranks, int members) {
  Row r;
  r.ranks = ranks;
  r.members = members;
  r.generation = s.generation;
  r.plan_ms = 1e3 * s.plan_seconds;
  double busiest = 0.0;
  for (double b : s.worker_busy_seconds) busiest = std::max(busiest, b);
  r.train_overhead_s = std::max(0.0, s.train_seconds - busiest);
  r.exploit_s = s.exploit_seconds;
  r.checkpoint_s = s.checkpoint_seconds;
  r.write_s = s.checkpoint_write_seconds;
  r.overhead_s = r.train_overhead_s + r.exploit_s + r.checkpoint_s;
  r.busy = s.busy_share;
  r.children = s.plan.children.size();
  r.mib_sent = s.bytes_sent / kMiB;
  r.rank0_mib = s.coordinator_peak_rss_bytes / kMiB;
  for (auto b : s.worker_peak_rss_bytes) r.worker_mib = std::max(r.worker_mib, b / kMiB);
  for (auto b : s.worker_pss_bytes) r.worker_pss_mib = std::max(r.worker_pss_mib, b / kMiB);
  return r;
}

std::string csv_header() {
  return "ranks,members,generation,plan_ms,train_overhead_s,exploit_s,checkpoint_s,checkpoint_write_s,overhead_s,"
         "children,mib_sent,"
         "rank0_peak_mib,worker_peak_mib_max,worker_pss_mib_max";
}

std::string csv_line(const Row& r) {
  char buf[320];
  std::snprintf(buf, sizeof buf, "%d,%d,%lld,%.4f,%.5f,%.5f,%.5f,%.5f,%.5f,%zu,%.3f,%.1f,%.1f,%.1f", r.ranks,
                r.members, static_cast<long long>(r.generation), r.plan_ms, r.train_overhead_s, r.exploit_s,
                r.checkpoint_s, r.write_s, r.overhead_s, r.children, r.mib_sent, r.rank0_mib, r.worker_mib, r.worker_pss_mib);
  return buf;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// Medians over the generations after the first (the first also pays first-time costs: file
// creation, allocator growth), or over all when there is one; the plan and exploit figures only
// over generations with an exploit (never the last one).
Row medians(const std::vector<Row>& rows) {
  std::vector<Row> use, exploiting;
  for (const auto& r : rows)
    if (r.generation > 0 || rows.size() == 1) use.push_back(r);
  for (const auto& r : use)
    if (r.children > 0) exploiting.push_back(r);
  if (exploiting.empty())
    for (const auto& r : rows)
      if (r.children > 0) exploiting.push_back(r);
  if (exploiting.empty()) exploiting = use;
  Row m = use.front();
  auto med = [](const std::vector<Row>& from, double Row::*f) {
    std::vector<double> v;
    for (const auto& r : from) v.push_back(r.*f);
    return median(v);
  };
  m.plan_ms = med(exploiting, &Row::plan_ms);
  m.exploit_s = med(exploiting, &Row::exploit_s);
  m.train_overhead_s = med(use, &Row::train_overhead_s);
  m.checkpoint_s = med(use, &Row::checkpoint_s);
  m.write_s = med(use, &Row::write_s);
  m.overhead_s = med(use, &Row::overhead_s);
  m.mib_sent = med(exploiting, &Row::mib_sent);
  for (const auto& r : rows) {
    m.rank0_mib = std::max(m.rank0_mib, r.rank0_mib);
    m.worker_mib = std::max(m.worker_mib, r.worker_mib);
    m.worker_pss_mib = std::max(m.worker_pss_mib, r.worker_pss_mib);
  }
  return m;
}

int plot(const BenchScaleOptions& o) {
  std::ifstream in(o.plot_csv);
  if (!in) throw std::runtime_error("cannot read " + o.plot_csv + " (write it with --csv under mpirun first)");
  std::map<int, std::map<int, std::vector<Row>>> by_rank;  // ranks -> members -> rows
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.rfind("ranks", 0) == 0) continue;
    Row r;
    long long g = 0;
    if (std::sscanf(line.c_str(), "%d,%d,%lld,%lf,%lf,%lf,%lf,%lf,%lf,%zu,%lf,%lf,%lf,%lf", &r.ranks, &r.members, &g,
                    &r.plan_ms, &r.train_overhead_s, &r.exploit_s, &r.checkpoint_s, &r.write_s, &r.overhead_s,
                    &r.children, &r.mib_sent, &r.rank0_mib, &r.worker_mib, &r.worker_pss_mib) != 14)
      throw std::runtime_error(o.plot_csv + ": not a bench-scale row: " + line);
    r.generation = g;
    by_rank[r.ranks][r.members].push_back(r);
  }
  if (by_rank.empty()) throw std::runtime_error(o.plot_csv + " holds no rows");
  report::LinePlot p;
  p.title = "bench-scale: non-training time per generation (median)";
  p.x_label = "population size N (log scale)";
  p.y_label = "seconds per generation (log scale)";
  p.log_x = p.log_y = true;
  report::LinePlot plan = p;
  plan.title = "bench-scale: rank 0's plan time per generation (median)";
  plan.y_label = "milliseconds (log scale)";
  for (const auto& [ranks, per_n] : by_rank) {
    report::LineSeries s{"R = " + std::to_string(ranks), {}, {}}, pl = s;
    for (const auto& [n, rows] : per_n) {
      const Row m = medians(rows);
      s.x.push_back(n), s.y.push_back(m.overhead_s);
      pl.x.push_back(n), pl.y.push_back(m.plan_ms);
    }
    p.series.push_back(s);
    plan.series.push_back(pl);
  }
  report::write_png(o.png, report::plot_lines(p));
  std::string plan_png = o.png;
  const auto dot = plan_png.rfind(".png");
  plan_png = (dot == std::string::npos ? plan_png : plan_png.substr(0, dot)) + "_plan.png";
  report::write_png(plan_png, report::plot_lines(plan));
  std::cout << "written: " << o.png << ", " << plan_png << "\n";
  return 0;
}

// Rank 0: one population size's rows, their medians and the run's warnings (and the CSV rows).
void print_size(int n, int ranks, int rc, const CollectingReport& report, std::ofstream& csv) {
  std::vector<Row> rows;
  for (const auto& s : report.generations) rows.push_back(row_of(s, ranks, n));
  std::printf("\nN = %d members on %d workers (exit %d)\n", n, ranks - 1, rc);
  std::printf("  gen   plan ms  train-phase s  exploit s  ckpt s (files)  total s  children  MiB sent  rank0 MiB  "
              "worker MiB  worker PSS MiB\n");
  for (const auto& r : rows) {
    std::printf("  %3lld  %8.3f  %13.4f  %9.4f  %6.3f (%5.3f)  %7.3f  %8zu  %8.2f  %9.0f  %10.0f  %14.0f\n",
                static_cast<long long>(r.generation), r.plan_ms, r.train_overhead_s, r.exploit_s, r.checkpoint_s,
                r.write_s, r.overhead_s, r.children, r.mib_sent, r.rank0_mib, r.worker_mib, r.worker_pss_mib);
    if (csv) csv << csv_line(r) << "\n";
  }
  if (!rows.empty()) {
    const Row m = medians(rows);
    std::printf("  median (generations after the first; plan and exploit: those with an exploit): plan %.3f ms, non-training %.3f s per generation "
                "(train phase %.4f, exploit %.4f, checkpoint %.3f of which the slowest worker's files %.3f); peak memory rank 0 %.0f MiB, a worker %.0f MiB "
                "(PSS %.0f MiB)\n",
                m.plan_ms, m.overhead_s, m.train_overhead_s, m.exploit_s, m.checkpoint_s, m.write_s, m.rank0_mib,
                m.worker_mib, m.worker_pss_mib);
  }
  for (const auto& w : report.warnings) std::printf("  warning: %s\n", w.c_str());
  std::fflush(stdout);
}

// One population size on every rank: a fresh run folder, the coordinator (rank 0, quiet) and the
// workers. Returns this rank's exit code.
int bench_size(MpiTransport& transport, int n, const BenchScaleOptions& o, std::ofstream& csv) {
  const int R = transport.size(), me = transport.rank();
  const std::string dir = o.out + "/R" + std::to_string(R) + "_N" + std::to_string(n);
  RunConfig cfg = parse_run_config(config_text(n, o), "bench-scale");
  if (me == 0) {
    try {
      fs::remove_all(dir);  // never resume an earlier measurement
      fs::create_directories(dir);
    } catch (const std::exception& e) {
      std::cerr << "pbtnas bench-scale: cannot make the folder " << dir << " (" << e.what()
                << "); pass a writable folder with --out\n";
      transport.abort(2);
    }
  }
  transport.barrier();
  int rc = 0;
  if (me == 0) {
    std::ostringstream quiet_out, quiet_err;
    Logger quiet(0, quiet_out, quiet_err);
    const SearchSpace space = task_space(cfg);
    io::H5RunStore store(dir, cfg, space, quiet);
    CollectingReport report;
    rc = run_coordinator(transport, cfg, space, store, report, nullptr);
    print_size(n, R, rc, report, csv);
  } else {
    Logger log(me);
    std::unique_ptr<Task> task = make_task(cfg);
    Worker worker(transport, cfg, task.get(), "", torch::kCPU, 1, log);
    rc = worker.run();
  }
  transport.barrier();
  if (me == 0 && !o.keep) fs::remove_all(dir);
  return rc;
}

}  // namespace

int bench_scale_command(int argc, char** argv, const BenchScaleOptions& o) {
  if (!o.plot_csv.empty()) {
    try {
      return plot(o);
    } catch (const std::exception& e) {
      std::cerr << "pbtnas bench-scale: " << e.what() << std::endl;
      return 2;
    }
  }
  MpiSession mpi(&argc, &argv);
  install_crash_handler();
  MpiTransport transport;
  const int R = transport.size(), me = transport.rank();
  if (R < 2) {
    std::cerr << "bench-scale needs at least 2 ranks (rank 0 coordinates): mpirun -n R pbtnas bench-scale\n";
    return 2;
  }
  set_compute_threads(1);
  std::ofstream csv;
  if (me == 0) {
    std::cout << "bench-scale: " << R << " ranks (" << R - 1 << " workers), toy task with " << o.steps_per_epoch
              << " training steps per epoch, " << o.generations << " generations per population size; folder " << o.out
              << "\n";
    if (!o.csv.empty()) {
      const bool fresh = !fs::exists(o.csv);
      csv.open(o.csv, std::ios::app);
      if (!csv) {
        std::cerr << "bench-scale: cannot write " << o.csv << "\n";
        transport.abort(2);
      }
      if (fresh) csv << csv_header() << "\n";
    }
  }
  for (int n : o.members) {
    if (n < R - 1) {  // every worker owns at least one member (Layout)
      if (me == 0) std::printf("\nN = %d members: skipped, fewer than the %d workers\n", n, R - 1);
      continue;
    }
    const int rc = bench_size(transport, n, o, csv);
    if (rc != 0) return rc;
  }
  return 0;
}

}  // namespace pbtnas::cli
