// `pbtnas study` (docs/study.md; the report: study_report_command.cpp).
//
// Every rank loads the study and validates every derived config (search keys and task
// section); rank 0 decides run by run (skip a finished one, else run or resume it) and tells the
// workers over a private communicator; each run is an ordinary search (run_search) on a fresh
// MpiTransport, in OUT/<variant>/seed_<seed>/ with its config OUT/<variant>/seed_<seed>.yaml.
// The study stops at the first run that does not end with 0 (3 after a stop request: rerun it to
// go on), and after the last run writes the report.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/study_files.hpp"
#include "pbtnas/core/layout.hpp"
#include "pbtnas/core/study.hpp"
#include "pbtnas/mpi/mpi_transport.hpp"
#include "pbtnas/protocol/coordinator.hpp"
#include "pbtnas/tasks/image_grid.hpp"
#include "pbtnas/tasks/node_cache.hpp"
#include "pbtnas/tasks/registry.hpp"

namespace pbtnas::cli {
namespace {

using study_files::kPlanFile;
using study_files::read_text;
using study_files::write_atomic;
namespace fs = std::filesystem;
constexpr int kStudyTag = 7;  // on the study's own communicator (control), never a run's

enum class RunState { NotStarted, Interrupted, EvaluationFailed, Finished };

// A summary.json whose final evaluation failed (an "error" under best_ever or soup, e.g. out of
// memory in the final FID): running the run again resumes at its last generation and redoes it.
bool final_evaluation_failed(const fs::path& summary) {
  std::ifstream in(summary);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object()) return true;  // not a whole summary: the run is finished again
  for (const char* key : {"best_ever", "soup"})
    if (j.contains(key) && j[key].is_object() && j[key].contains("error")) return true;
  return false;
}

RunState state_of(const std::string& out, const StudyRun& r) {
  const fs::path dir = fs::path(out) / r.dir;
  if (fs::exists(dir / "summary.json"))
    return final_evaluation_failed(dir / "summary.json") ? RunState::EvaluationFailed : RunState::Finished;
  if (fs::exists(dir / "checkpoints")) return RunState::Interrupted;
  return RunState::NotStarted;
}

const char* to_string(RunState s) {
  switch (s) {
    case RunState::NotStarted: return "not started";
    case RunState::Interrupted: return "interrupted (resumes)";
    case RunState::EvaluationFailed: return "final evaluation failed (runs it again)";
    case RunState::Finished: return "finished";
  }
  return "?";
}

// Writes the run's derived config, or checks that the one already there is the same text (a run
// that has started must be resumed with the config it started with).
void ensure_config(const std::string& out, const StudyRun& r) {
  const std::string path = (fs::path(out) / r.config_file).string();
  if (fs::exists(path)) {
    if (read_text(path) == r.config_text) return;
    if (state_of(out, r) != RunState::NotStarted)
      throw std::runtime_error(
          "the run " + (fs::path(out) / r.dir).string() + " was made with the config " + path +
          ", which differs from what the study now derives for variant '" + r.variant_name + "', seed " +
          std::to_string(r.seed) + " (the study file or its base config changed). Restore them, use a new --out, "
          "or delete that run folder and its .yaml to run it again with the new settings");
  }
  write_atomic(path, r.config_text);
}

// Everything that is checked before any run starts (on every rank).
struct Prepared {
  Study study;
  std::vector<RunConfig> configs;  // one per run
};

Prepared prepare(const StudyOptions& o, int ranks) {
  if (o.out.empty()) throw std::invalid_argument("--out is empty; pass the study folder (created if needed)");
  Prepared p;
  p.study = load_study(o.study);
  for (const auto& r : p.study.runs) {
    // The task section too (the core checked the search keys).
    p.configs.push_back(parse_run_config(r.config_text, o.study + " (variant '" + r.variant_name + "')"));
    // The metric must be one the runs will report, or no run would count after hours of work.
    if (!is_fitness_metric(p.study.metric)) {
      const auto names = final_evaluation_names(p.configs.back());
      if (!names.empty() && std::find(names.begin(), names.end(), p.study.metric) == names.end()) {
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        throw std::invalid_argument("study " + o.study + ": metric '" + p.study.metric + "' is not reported by variant '" +
                                    r.variant_name + "' (task " + p.configs.back().task + "); use best_ever_fitness, best_last_fitness or one of: " + list);
      }
    }
    if (ranks > 0) {
      try {
        Layout check(p.configs.back().selection.population_size, ranks);
      } catch (const std::exception& e) {
        throw std::invalid_argument("study " + o.study + ", variant '" + r.variant_name + "': " + e.what());
      }
    }
  }
  if (o.only >= static_cast<int>(p.study.runs.size()))
    throw std::invalid_argument("--only " + std::to_string(o.only) + ": the study has runs 0 to " +
                                std::to_string(p.study.runs.size() - 1) + " (see --list)");
  return p;
}

int list_runs(const StudyOptions& o) {
  Prepared p;
  try {
    p = prepare(o, 0);
  } catch (const std::exception& e) {
    std::cerr << "pbtnas study: " << e.what() << std::endl;
    return 2;
  }
  const Study& st = p.study;
  std::cout << "# " << st.runs.size() << " runs (" << st.variants.size() << " variants x " << st.seeds.size()
            << " seeds) of " << st.path << "; base " << st.base_path << "; out " << o.out << "\n";
  std::cout << "# SLURM: sbatch --array=0-" << st.runs.size() - 1 << " ... jobs/slurm/study_array.sbatch\n";
  std::cout << "# index\tvariant\tseed\tfolder\tstate\n";
  for (const auto& r : st.runs)
    std::cout << r.index << "\t" << r.variant_name << "\t" << r.seed << "\t" << (fs::path(o.out) / r.dir).string()
              << "\t" << to_string(state_of(o.out, r)) << "\n";
  return 0;
}

// Every rank reports whether it could read and validate the study, so that no rank waits for a
// run that another rank refused. True when all could; rank 0 has told the others to end then.
bool all_ranks_ready(MpiTransport& control, std::string error) {
  if (control.rank() != 0) {
    control.send(0, kStudyTag, error.empty() ? "ok" : error);  // then wait for rank 0's verdict (end 2)
    return true;
  }
  if (!error.empty()) std::cerr << "pbtnas study: " << error << std::endl;
  for (int w = 1; w < control.size(); ++w) {
    const std::string reply = control.recv(w, kStudyTag);
    if (reply != "ok" && error.empty()) {
      error = reply;
      std::cerr << "pbtnas study: rank " << w << ": " << reply << std::endl;
    }
  }
  if (error.empty()) return true;
  for (int w = 1; w < control.size(); ++w) control.send(w, kStudyTag, "end 2");
  return false;
}

// Ranks 1..R-1: run what rank 0 says until it says end (or that the study cannot start).
int follow_rank0(MpiTransport& control, const Prepared& p, const StudyOptions& o) {
  while (true) {
    std::istringstream msg(control.recv(0, kStudyTag));
    std::string what;
    int arg = 0;
    msg >> what >> arg;
    if (what == "end") return arg;
    const StudyRun& r = p.study.runs.at(static_cast<std::size_t>(arg));
    MpiTransport transport;
    run_search(transport, p.configs[static_cast<std::size_t>(arg)], (fs::path(o.out) / r.dir).string());
  }
}

// Rank 0: one run of the study (skipped when finished). Returns -1 to go on with the next run,
// else the study's exit code.
int lead_run(MpiTransport& control, const Prepared& p, const StudyOptions& o, const StudyRun& r) {
  const Study& st = p.study;
  const std::string dir = (fs::path(o.out) / r.dir).string();
  const std::string head = "== study run " + std::to_string(r.index) + " (of 0-" + std::to_string(st.runs.size() - 1) +
                           "): variant " + r.variant_name + ", seed " + std::to_string(r.seed) + " in " + dir;
  const RunState state = state_of(o.out, r);
  if (state == RunState::Finished) {
    std::cout << head << ": finished before, skipped" << std::endl;
    return -1;
  }
  if (stop_requests().load() > 0) {
    std::cout << "== study: stop requested; rerun the same command to go on" << std::endl;
    return kExitCheckpointed;
  }
  std::cout << head
            << (state == RunState::Interrupted        ? ": resuming"
                : state == RunState::EvaluationFailed ? ": its final evaluation failed before; running it again"
                                                      : ": starting")
            << std::endl;
  for (int w = 1; w < control.size(); ++w) control.send(w, kStudyTag, "run " + std::to_string(r.index));
  int code = 2;
  {
    MpiTransport transport;
    code = run_search(transport, p.configs[static_cast<std::size_t>(r.index)], dir);
  }
  if (code == 2 && state == RunState::EvaluationFailed && state_of(o.out, r) == RunState::EvaluationFailed) {
    // Failed again (e.g. the final FID does not fit this GPU): the search itself is done, so the
    // study goes on; the report lists the run as not counting, with the error.
    std::cout << "== study: the final evaluation of " << dir << " failed again (see its summary.json); going on. "
              << "Each later study command tries it once more; to stop that, fix the cause or delete the run folder "
              << "and its .yaml" << std::endl;
    return -1;
  }
  if (code != 0) {
    std::cout << "== study: run " << dir << " ended with exit code " << code
              << (code == 3 ? " (checkpointed: rerun the same command to resume)" : "") << std::endl;
    return code;
  }
  return -1;
}

// Rank 0: the plan file, the runs' configs, then the selected runs one after another.
int lead_study(MpiTransport& control, const Prepared& p, const StudyOptions& o) {
  const Study& st = p.study;
  auto end = [&](int code) {
    for (int w = 1; w < control.size(); ++w) control.send(w, kStudyTag, "end " + std::to_string(code));
    return code;
  };
  std::vector<const StudyRun*> selected;
  for (const auto& r : st.runs)
    if (o.only < 0 || r.index == o.only) selected.push_back(&r);
  try {
    write_atomic((fs::path(o.out) / kPlanFile).string(), plan_text(st));
    for (const StudyRun* r : selected) ensure_config(o.out, *r);
  } catch (const std::exception& e) {
    std::cerr << "pbtnas study: " << e.what() << std::endl;
    return end(2);
  }
  std::cout << "study " << st.path << ": " << st.variants.size() << " variants x " << st.seeds.size() << " seeds = "
            << st.runs.size() << " runs" << (o.only >= 0 ? " (this job runs only run " + std::to_string(o.only) + ")" : "")
            << "; out " << o.out << std::endl;
  for (const StudyRun* r : selected) {
    const int code = lead_run(control, p, o, *r);
    if (code >= 0) return end(code);
  }
  return end(0);
}

}  // namespace

int study_command(int argc, char** argv, const StudyOptions& o) {
  if (o.list) return list_runs(o);
  MpiSession mpi(&argc, &argv);
  install_crash_handler();
  install_stop_handler();
  MpiTransport control;  // the study's own communicator: which run comes next
  Prepared p;
  std::string error;
  try {
    p = prepare(o, control.size());
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!all_ranks_ready(control, error)) return 2;
  if (control.rank() != 0) return follow_rank0(control, p, o);
  const int code = lead_study(control, p, o);
  if (code != 0) return code;
  if (o.only >= 0) {
    std::cout << "== study: run " << o.only << " done; when every run is done: pbtnas study-report " << o.out << std::endl;
    return 0;
  }
  return study_report_command(o.out);
}

}  // namespace pbtnas::cli
