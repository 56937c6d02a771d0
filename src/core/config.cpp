#include "pbtnas/core/config.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "pbtnas/core/config_section.hpp"

namespace pbtnas {

const char* to_string(Algorithm a) {
  switch (a) {
    case Algorithm::PbtNas: return "pbtnas";
    case Algorithm::Mutation: return "mutation";
    case Algorithm::Random: return "random";
  }
  return "?";
}

double RunConfig::worker_timeout_seconds(double longest_generation_seconds) const {
  if (worker_timeout > 0.0) return worker_timeout;
  if (worker_timeout < 0.0) return -1.0;
  if (!(longest_generation_seconds > 0.0)) return 3600.0;
  return std::max(900.0, 3.0 * longest_generation_seconds);
}

const char* to_string(RunPoint p) {
  switch (p) {
    case RunPoint::DuringTraining: return "during_training";
    case RunPoint::AfterCommit: return "after_commit";
  }
  return "?";
}

bool RunConfig::mix_after(int next_epoch) const {
  if (next_epoch >= max_epochs) return false;  // never after the last step
  if (algorithm == Algorithm::Random) return false;
  if (mix_schedule.every <= 0) return true;
  return next_epoch >= mix_schedule.until || next_epoch % mix_schedule.every == 0;
}

// Every range of the search keys, in one place.
void RunConfig::validate() const {
  check_range("population_size", selection.population_size, 4, kMaxPopulation,
              "an integer >= 4 and <= " + std::to_string(kMaxPopulation));
  check_range("parents_fraction", selection.parents_fraction, 1e-9, 1.0, "a fraction in (0, 1]");
  check_range("survive_fraction", selection.survive_fraction, 1e-9, 0.999999, "a fraction in (0, 1)");
  check_range("n_children", selection.n_children, 1, selection.population_size,
              "an integer in [1, population_size]");
  selection.validate();
  check_range("swap_probability", swap_probability, 0.0, 1.0, "a probability in [0, 1]");
  const std::string sp = "values in [0, 10] (paper: [0.4, 0.1]; ablations [1, 0] and [0, 1])";
  check_range("shrink_perturb[0]", shrink, 0.0, 10.0, sp);
  check_range("shrink_perturb[1]", perturb, 0.0, 10.0, sp);
  if (shrink_perturb_always.enabled) {
    if (algorithm != Algorithm::Random)
      throw std::invalid_argument(
          std::string("'shrink_perturb_always' is the random search + shrink-perturb ablation, but "
                      "algorithm is ") + to_string(algorithm) +
          "; set algorithm: random, or remove shrink_perturb_always (children of pbtnas are "
          "shrink-perturbed by 'shrink_perturb')");
    check_range("shrink_perturb_always[0]", shrink_perturb_always.shrink, 0.0, 10.0, sp);
    check_range("shrink_perturb_always[1]", shrink_perturb_always.perturb, 0.0, 10.0, sp);
  }
  check_range("max_epochs", max_epochs, 1, kMaxCount, "an integer >= 1");
  check_range("epochs_step", epochs_step, 1, kMaxCount, "an integer >= 1");
  if (max_epochs % epochs_step != 0)
    throw std::invalid_argument("'max_epochs' = " + std::to_string(max_epochs) + " is not a multiple of epochs_step = " +
                                std::to_string(epochs_step) + "; make it one (e.g. 300 and 10)");
  for (const HyperParameter& h : hyperparameters) h.validate();
  if (!hyperparameters.empty()) hyperparameter_mutation.validate();
  check_range("mix_schedule.every", mix_schedule.every, 0, kMaxCount, "0 (mix after every step) or a number of epochs");
  check_range("mix_schedule.until", mix_schedule.until, 0, kMaxCount, "an epoch >= 0");
  check_range("checkpoint.keep", checkpoint.keep, 0, kMaxCount, "0 (keep all) or the number of generations to keep");
  check_range("runtime.threads_per_rank", threads_per_rank, 0, 4096, "0 (automatic) or a thread count up to 4096");
  check_choice("runtime.device", device, {"auto", "cpu", "cuda"});
  check_range("runtime.progress_seconds", progress_seconds, 0.0, 3600.0, "0 (off) or seconds between progress updates, up to 3600");
  check_choice("runtime.balance", balance, {"round_robin", "measured"});
  if (balance_cost_by_id && balance != "measured")
    throw std::invalid_argument("'testing.balance_cost_by_id' only applies with runtime.balance: measured; set it, or "
                                "remove the testing key");
  check_range("testing.nan_member", nan_member, -1, selection.population_size - 1,
              "-1 (off) or a member id below population_size");
  check_range("testing.nan_generation", nan_generation, -1, kMaxCount, "-1 (off) or a generation");
  check_range("testing.crash_after_commit", crash_after_commit, -1, kMaxCount, "-1 (off) or a generation");
  check_range("testing.stop_after_generation", stop_after_generation, -1, kMaxCount, "-1 (off) or a generation");
  check_range("testing.hang_rank", hang_rank, -1, kMaxCount, "-1 (off) or a worker rank (1 or more)");
  if (hang_rank == 0)
    throw std::invalid_argument("'testing.hang_rank' = 0 names the coordinator; name a worker rank (1 or more) or -1");
  check_range("testing.hang_generation", hang_generation, -1, kMaxCount, "-1 (off) or a generation");
  check_range("testing.slow_rank", slow_rank, -1, kMaxCount, "-1 (off) or a worker rank (1 or more)");
  if (slow_rank == 0)
    throw std::invalid_argument("'testing.slow_rank' = 0 names the coordinator, which trains nothing; name a worker rank "
                                "(1 or more) or -1");
  check_range("testing.slow_generation", slow_generation, -1, kMaxCount, "-1 (off) or a generation");
  check_range("testing.slow_step_seconds", slow_step_seconds, 0.0, 60.0, "seconds per training step in [0, 60]");
  if (!(worker_timeout == -1.0 || (worker_timeout >= 0.0 && worker_timeout <= 1e6)))
    throw std::invalid_argument("'runtime.worker_timeout' = " + std::to_string(worker_timeout) +
                                " is out of range; expected -1 (never), 0 (derived) or seconds up to 1000000");
  check_range("testing.raise_signal.generation", raise_signal.generation, -1, kMaxCount, "-1 (off) or a generation");
  check_choice("testing.raise_signal.signal", raise_signal.signal, {"INT", "TERM", "USR1"});
  check_range("testing.raise_signal.count", raise_signal.count, 1, 2,
              "1, or 2 (a second signal right after the first: it abandons the generation)");
  check_range("testing.raise_signal.rank", raise_signal.rank, -1, kMaxPopulation,
              "-1 (every rank) or a rank");
  if (raise_signal.rank != 0 && raise_signal.when != RunPoint::DuringTraining)
    throw std::invalid_argument("'testing.raise_signal.rank' = " + std::to_string(raise_signal.rank) +
                                " needs when: during_training (workers take no part in the commit); use rank 0 "
                                "for after_commit");
  check_range("testing.wait_for_signal.generation", wait_for_signal.generation, -1, kMaxCount,
              "-1 (off) or a generation");
  check_range("testing.wait_for_signal.count", wait_for_signal.count, 1, 2,
              "1, or 2 (wait for a second signal too: it abandons the generation)");
  check_range("testing.wait_for_signal.timeout_seconds", wait_for_signal.timeout_seconds, 0.1, 3600.0,
              "seconds in [0.1, 3600]");
}

RunConfig parse_config(const std::string& yaml_text, const std::string& origin) {
  ConfigSection s = ConfigSection::root(yaml_text, origin);
  RunConfig c;
  c.source_text = yaml_text;

  s.get("seed", c.seed);
  std::string algo = "pbtnas";
  s.get("algorithm", algo);
  if (algo != "pbtnas" && algo != "mutation" && algo != "random")
    s.fail("algorithm", "= '" + algo + "' is not valid; expected one of pbtnas, mutation, random");
  c.algorithm = algo == "pbtnas" ? Algorithm::PbtNas : algo == "mutation" ? Algorithm::Mutation : Algorithm::Random;

  SelectionConfig& sel = c.selection;
  s.get("population_size", sel.population_size);
  s.get("parents_fraction", sel.parents_fraction);
  s.get("survive_fraction", sel.survive_fraction);
  sel.n_children = -1;
  s.get("n_children", sel.n_children);
  parse_selection_section(s, sel);
  s.get("swap_probability", c.swap_probability);
  // [lambda, gamma] pairs: shrink_perturb, and the ablation's shrink_perturb_always.
  auto pair = [&s](const char* key, double& lambda, double& gamma) {
    YAML::Node sp = s.raw(key);
    if (!sp) return false;
    const std::string what = "must be a list of two numbers [lambda, gamma] (paper: [0.4, 0.1])";
    if (!sp.IsSequence() || sp.size() != 2) s.fail(key, what);
    try {
      lambda = sp[0].as<double>();
      gamma = sp[1].as<double>();
    } catch (const YAML::Exception&) {
      s.fail(key, what);
    }
    return true;
  };
  pair("shrink_perturb", c.shrink, c.perturb);
  s.note_text("shrink_perturb", "[" + shortest_number(c.shrink) + ", " + shortest_number(c.perturb) + "]", false);
  c.shrink_perturb_always.enabled =
      pair("shrink_perturb_always", c.shrink_perturb_always.shrink, c.shrink_perturb_always.perturb);
  if (c.shrink_perturb_always.enabled)
    s.note_text("shrink_perturb_always", "[" + shortest_number(c.shrink_perturb_always.shrink) + ", " +
                                             shortest_number(c.shrink_perturb_always.perturb) + "]", false);
  s.get("mix_with_itself", c.mix_with_itself);
  s.get("final_soup", c.final_soup);
  s.get("max_epochs", c.max_epochs);
  s.get("epochs_step", c.epochs_step);
  ConfigSection ms = s.sub("mix_schedule");
  ms.get("every", c.mix_schedule.every);
  ms.get("until", c.mix_schedule.until);
  ms.reject_unknown();
  parse_hyperparameters(s, c.hyperparameters, c.hyperparameter_mutation);

  // Absent: "" (the task registry's default, parse_run_config). The task's own section is parsed
  // by the task (tasks/registry.hpp).
  if (s.raw("task")) {
    s.get("task", c.task);
    if (c.task.empty()) s.fail("task", "is empty; name a registered task, or leave the key out for the default");
    (void)s.raw(c.task);
  }

  ConfigSection ck = s.sub("checkpoint");
  ck.get("keep", c.checkpoint.keep);
  ck.reject_unknown();

  ConfigSection rt = s.sub("runtime");
  rt.get("threads_per_rank", c.threads_per_rank);
  rt.get("device", c.device);
  rt.get("progress_seconds", c.progress_seconds);
  rt.get("worker_timeout", c.worker_timeout);
  rt.get("balance", c.balance);
  rt.reject_unknown();

  ConfigSection ts = s.sub("testing");
  ts.get("nan_member", c.nan_member);
  ts.get("nan_generation", c.nan_generation);
  ts.get("crash_after_commit", c.crash_after_commit);
  ts.get("stop_after_generation", c.stop_after_generation);
  // The signal hooks: {generation: G, when: during_training|after_commit, ...} (config.hpp, SignalHook).
  auto hook = [&ts](const char* key, SignalHook& h, bool raises) {
    const YAML::Node node = ts.raw(key);
    if (!node || node.IsNull()) return;
    if (!node.IsMap()) ts.fail(ts.key(key), "must be a mapping, e.g. {generation: 1, when: during_training}");
    ConfigSection hs = ts.sub(key);
    if (!hs.has("generation")) hs.fail(hs.key("generation"), "is missing; name the generation (0-based)");
    hs.get("generation", h.generation);
    std::string when = "during_training";
    hs.get("when", when);
    if (when != "during_training" && when != "after_commit")
      hs.fail(hs.key("when"), "= '" + when + "' is not valid; expected during_training or after_commit");
    h.when = when == "during_training" ? RunPoint::DuringTraining : RunPoint::AfterCommit;
    hs.get("count", h.count);
    if (raises) {
      hs.get("signal", h.signal);
      hs.get("rank", h.rank);
    } else {
      hs.get("timeout_seconds", h.timeout_seconds);
    }
    hs.reject_unknown();
  };
  hook("raise_signal", c.raise_signal, true);
  hook("wait_for_signal", c.wait_for_signal, false);
  ts.get("balance_cost_by_id", c.balance_cost_by_id);
  ts.get("fail_best_ever_evaluation", c.fail_best_ever_evaluation);
  ts.get("hang_rank", c.hang_rank);
  ts.get("hang_generation", c.hang_generation);
  ts.get("progress_every_result", c.progress_every_result);
  ts.get("slow_rank", c.slow_rank);
  ts.get("slow_generation", c.slow_generation);
  ts.get("slow_step_seconds", c.slow_step_seconds);
  ts.reject_unknown();
  if (c.task.empty()) {
    // Without `task:` the default task runs, which the core does not know: a single section
    // left is its section (the task registry checks the name, parse_run_config).
    const auto sections = s.unread_sections();
    if (sections.size() == 1) {
      c.task_section = sections.front();
      (void)s.raw(c.task_section);
    }
  }
  s.reject_unknown(c.task.empty() ? " and the section of the task (one section; name the task with task: NAME)"
                                  : " and the section of the task ('" + c.task +
                                        ":'; a task's section is named after the task: set task to use another)");

  try {
    // Bound the population before anything derived from it is computed.
    check_range("population_size", sel.population_size, 4, kMaxPopulation,
                "an integer >= 4 and <= " + std::to_string(kMaxPopulation));
    if (sel.n_children < 0) sel.n_children = sel.population_size - sel.n_elites();
    s.note("n_children", sel.n_children);
    c.validate();
    s.check_overflows();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("config " + origin + ": " + e.what());
  }
  c.effective = s.recorded();
  return c;
}

std::string read_config_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw std::invalid_argument("config '" + path + "' is a folder; pass a YAML file (examples: jobs/configs/*.yaml)");
  std::ifstream in(path);
  if (!in)
    throw std::invalid_argument("config '" + path + "' cannot be read; check the path (examples: jobs/configs/*.yaml)");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  // Only blanks and comments: almost surely the wrong file (a run of all defaults is a config with
  // one key, e.g. `seed: 1`).
  std::istringstream lines(text);
  bool any = false;
  for (std::string line; !any && std::getline(lines, line);) {
    const auto first = line.find_first_not_of(" \t\r");
    any = first != std::string::npos && line[first] != '#';
  }
  if (!any)
    throw std::invalid_argument("config '" + path + "' is empty (no keys); pass a YAML file with the run's keys "
                                "(examples: jobs/configs/*.yaml; docs/config.md)");
  return text;
}

}  // namespace pbtnas

namespace pbtnas {
namespace {

std::vector<std::string> split_key(const std::string& key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

// An ordered tree of the effective keys, written as nested YAML mappings.
struct KeyTree {
  const EffectiveKey* leaf = nullptr;
  std::vector<std::pair<std::string, KeyTree>> children;
  KeyTree& child(const std::string& name) {
    for (auto& c : children)
      if (c.first == name) return c.second;
    children.emplace_back(name, KeyTree{});
    return children.back().second;
  }
  void emit(YAML::Emitter& out) const {
    if (leaf) {
      if (leaf->is_string) out << leaf->value;  // quoted by the emitter where YAML needs it
      else out << YAML::Load(leaf->value);
      return;
    }
    out << YAML::BeginMap;
    for (const auto& c : children) {
      out << YAML::Key << c.first << YAML::Value;
      c.second.emit(out);
    }
    out << YAML::EndMap;
  }
};

}  // namespace

std::string apply_overrides(const std::string& yaml_text, const std::vector<std::string>& overrides) {
  if (overrides.empty()) return yaml_text;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument(std::string("the config is not valid YAML (") + e.what() + ")");
  }
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument("--set '" + o + "' is not KEY=VALUE; write e.g. --set max_epochs=20 or --set "
                                  "checkpoint.keep=0");
    const std::string key = o.substr(0, eq), text = o.substr(eq + 1);
    YAML::Node value;
    try {
      value = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      throw std::invalid_argument("--set " + o + ": the value is not valid YAML (" + e.what() + ")");
    }
    const auto parts = split_key(key);
    std::vector<YAML::Node> path{root};
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      YAML::Node next = path.back()[parts[i]];
      if (!next || next.IsNull()) {
        path.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
        next = path.back()[parts[i]];
      }
      if (!next.IsMap())
        throw std::invalid_argument("--set " + o + ": '" + parts[i] + "' is not a section of the config");
      path.push_back(next);
    }
    path.back()[parts.back()] = value;
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

std::string effective_yaml(const std::vector<EffectiveKey>& keys) {
  KeyTree tree;
  for (const auto& k : keys) {
    KeyTree* node = &tree;
    for (const auto& part : split_key(k.key)) node = &node->child(part);
    node->leaf = &k;
  }
  YAML::Emitter out;
  tree.emit(out);
  return std::string(out.c_str()) + "\n";
}

bool changes_on_resume(const std::string& key) {
  auto under = [&key](const char* section) { return key.rfind(section, 0) == 0; };
  return key == "max_epochs" || key == "checkpoint.keep" || key == "final_soup" || under("runtime.") ||
         under("testing.");
}

std::vector<ConfigChange> config_changes(const std::vector<EffectiveKey>& before,
                                         const std::vector<EffectiveKey>& after) {
  auto find = [](const std::vector<EffectiveKey>& keys, const std::string& key) -> const EffectiveKey* {
    for (const auto& k : keys)
      if (k.key == key) return &k;
    return nullptr;
  };
  std::vector<ConfigChange> changes;
  for (const auto& a : after) {
    const EffectiveKey* b = find(before, a.key);
    if (!b) changes.push_back({a.key, "(absent)", a.value});
    else if (b->value != a.value) changes.push_back({a.key, b->value, a.value});
  }
  for (const auto& b : before)
    if (!find(after, b.key)) changes.push_back({b.key, b.value, "(absent)"});
  return changes;
}

}  // namespace pbtnas
