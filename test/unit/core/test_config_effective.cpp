// The effective config (every key with its value or default), --set overrides, the resume
// comparison by value, and the wording of range and unknown-key errors (issue: a newcomer's
// first hour).
#include <catch2/catch.hpp>

#include <algorithm>

#include "pbtnas/core/config.hpp"
#include "pbtnas/core/config_section.hpp"

using namespace pbtnas;

namespace {

std::string value_of(const RunConfig& c, const std::string& key) {
  for (const auto& k : c.effective)
    if (k.key == key) return k.value;
  return "(absent)";
}

}  // namespace

TEST_CASE("the effective config holds every search key with its value or default") {
  const RunConfig c = parse_config("population_size: 8\nmax_epochs: 4\nepochs_step: 2\n", "t");
  CHECK(value_of(c, "population_size") == "8");
  CHECK(value_of(c, "max_epochs") == "4");
  CHECK(value_of(c, "seed") == "31173");               // defaults are recorded too
  CHECK(value_of(c, "swap_probability") == "0.25");    // shortest exact text
  CHECK(value_of(c, "shrink_perturb") == "[0.4, 0.1]");
  CHECK(value_of(c, "n_children") == "2");             // derived: population - elites
  CHECK(value_of(c, "checkpoint.keep") == "2");
  CHECK(value_of(c, "runtime.device") == "auto");
  CHECK(value_of(c, "algorithm") == "pbtnas");
}

TEST_CASE("the effective config as YAML parses back to the same effective values") {
  const RunConfig c = parse_config("population_size: 8\nmax_epochs: 4\nepochs_step: 2\nruntime:\n  device: cpu\n", "t");
  const std::string yaml = effective_yaml(c.effective);
  CHECK(yaml.find("runtime:") != std::string::npos);
  const RunConfig again = parse_config(yaml, "effective");
  CHECK(config_changes(c.effective, again.effective).empty());
}

TEST_CASE("shortest_number gives the shortest text that reads back exactly") {
  CHECK(shortest_number(0.1) == "0.1");
  CHECK(shortest_number(0.25) == "0.25");
  CHECK(shortest_number(1.0) == "1.0");
  CHECK(shortest_number(1e-9) == "1e-09");
  CHECK(shortest_number(2.0 / 3.0) == "0.6666666666666666");
}

TEST_CASE("a comment, the order of keys or a default written out changes no effective value") {
  const RunConfig a = parse_config("population_size: 8\nmax_epochs: 4\nepochs_step: 2\n", "a");
  const RunConfig b =
      parse_config("# my run\nepochs_step: 2   # steps\nmax_epochs: 4\npopulation_size: 8\nseed: 31173\n", "b");
  CHECK(a.source_text != b.source_text);
  CHECK(config_changes(a.effective, b.effective).empty());
}

TEST_CASE("config_changes lists each differing key with both values") {
  const RunConfig a = parse_config("population_size: 8\nmax_epochs: 4\nepochs_step: 2\n", "a");
  const RunConfig b = parse_config("population_size: 12\nmax_epochs: 8\nepochs_step: 2\nseed: 5\n", "b");
  const auto changes = config_changes(a.effective, b.effective);
  auto has = [&](const std::string& key, const std::string& before, const std::string& after) {
    return std::any_of(changes.begin(), changes.end(), [&](const ConfigChange& c) {
      return c.key == key && c.before == before && c.after == after;
    });
  };
  CHECK(has("population_size", "8", "12"));
  CHECK(has("max_epochs", "4", "8"));
  CHECK(has("seed", "31173", "5"));
  CHECK(has("n_children", "2", "3"));
  CHECK(changes.size() == 4);
}

TEST_CASE("only the keys that extend or operate a run may change on resume") {
  for (const char* key : {"max_epochs", "checkpoint.keep", "final_soup", "runtime.device", "runtime.threads_per_rank",
                          "testing.crash_after_commit", "testing.raise_signal.generation"})
    CHECK(changes_on_resume(key));
  for (const char* key : {"seed", "population_size", "epochs_step", "shrink_perturb", "task", "classify.lr",
                          "algorithm", "mix_schedule.every", "runtime_x"})
    CHECK_FALSE(changes_on_resume(key));
}

TEST_CASE("overrides (--set) set nested keys and keep the others") {
  const std::string text = "population_size: 8  # a comment\nmax_epochs: 4\nepochs_step: 2\n";
  const std::string set = apply_overrides(text, {"max_epochs=8", "checkpoint.keep=0", "shrink_perturb=[1, 0]"});
  const RunConfig c = parse_config(set, "set");
  CHECK(c.max_epochs == 8);
  CHECK(c.checkpoint.keep == 0);
  CHECK(c.shrink == 1.0);
  CHECK(c.perturb == 0.0);
  CHECK(c.selection.population_size == 8);
  CHECK(apply_overrides(text, {}) == text);  // no override: the text as it was
  CHECK_THROWS_WITH(apply_overrides(text, {"max_epochs"}), Catch::Contains("KEY=VALUE"));
  CHECK_THROWS_WITH(apply_overrides(text, {"max_epochs.x=1"}), Catch::Contains("not a section"));
  // An unknown key set on the command line is refused by the parser, with a hint.
  CHECK_THROWS_WITH(parse_config(apply_overrides(text, {"max_epoch=8"}), "set"),
                    Catch::Contains("did you mean 'max_epochs'"));
}

TEST_CASE("integers that do not fit their key are range errors, not type errors") {
  CHECK_THROWS_WITH(parse_config("seed: -5\n", "f"),
                    Catch::Contains("'seed' = -5 is out of range") && Catch::Contains("[0, 18446744073709551615]"));
  // The key's own range, with the literal as written (not the type's range, not a clamped value).
  CHECK_THROWS_WITH(parse_config("checkpoint:\n  keep: 100000000000\n", "f"),
                    Catch::Contains("'checkpoint.keep' = 100000000000 is out of range; expected 0 (keep all) or the "
                                    "number of generations to keep"));
  CHECK_THROWS_WITH(parse_config("checkpoint:\n  keep: -100000000000\n", "f"),
                    Catch::Contains("'checkpoint.keep' = -100000000000 is out of range; expected 0 (keep all)"));
  CHECK_THROWS_WITH(parse_config("population_size: 99999999999999\n", "f"),
                    Catch::Contains("'population_size' = 99999999999999 is out of range; expected an integer >= 4 "
                                    "and <= 65536"));
  CHECK_THROWS_WITH(parse_config("checkpoint:\n  keep: -3\n", "f"),
                    Catch::Contains("'checkpoint.keep' = -3 is out of range"));
  CHECK_THROWS_WITH(parse_config("seed: abc\n", "f"), Catch::Contains("wrong type"));
}

TEST_CASE("an unknown key gets the closest known key as a hint") {
  CHECK_THROWS_WITH(parse_config("populaton_size: 8\n", "f"), Catch::Contains("did you mean 'population_size'"));
  CHECK_THROWS_WITH(parse_config("runtime:\n  devise: cpu\n", "f"), Catch::Contains("did you mean 'runtime.device'"));
  CHECK_THROWS_WITH(parse_config("zzzzzz: 1\n", "f"), !Catch::Contains("did you mean"));
  CHECK(closest_key("runn", {"run", "check", "status"}) == "run");
  CHECK(closest_key("stauts", {"run", "check", "status"}) == "status");
  CHECK(closest_key("xyzzy", {"run", "check", "status"}).empty());
}
