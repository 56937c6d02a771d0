#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "pbtnas/core/config.hpp"

using namespace pbtnas;

TEST_CASE("config defaults follow the paper where they apply") {
  const RunConfig c = parse_config("population_size: 24\n", "t");
  CHECK(c.selection.n_children == 6);
  CHECK(c.selection.parents_fraction == 0.25);
  CHECK(c.selection.survive_fraction == 0.75);
  CHECK(c.swap_probability == 0.25);
  CHECK(c.shrink == 0.4);
  CHECK(c.perturb == 0.1);
  CHECK(c.algorithm == Algorithm::PbtNas);
  CHECK(c.max_epochs == 300);
  CHECK(c.epochs_step == 10);
}

TEST_CASE("config keys are parsed") {
  const RunConfig c = parse_config(R"(
seed: 5
algorithm: mutation
population_size: 8
shrink_perturb: [1, 0]
mix_with_itself: true
final_soup: true
max_epochs: 6
epochs_step: 2
mix_schedule: {every: 4, until: 4}
classify:
  channels: 8
checkpoint: {keep: 0}
runtime: {threads_per_rank: 1, device: cpu}
)", "t");
  CHECK(c.seed == 5);
  CHECK(c.algorithm == Algorithm::Mutation);
  CHECK(c.selection.n_children == 2);
  CHECK(c.shrink == 1.0);
  CHECK(c.perturb == 0.0);
  CHECK(c.mix_with_itself);
  CHECK(c.final_soup);
  CHECK_FALSE(parse_config("seed: 5\n", "t").final_soup);  // off unless asked for
  CHECK(c.n_steps() == 3);
  CHECK(c.task.empty());                 // no `task:`: the task registry's default (registry.hpp)
  CHECK(c.task_section == "classify");   // its one section, for the registry to check
  CHECK(c.task_options == nullptr);      // the task section is the task's (registry.hpp)
  CHECK(c.checkpoint.keep == 0);
  CHECK(c.threads_per_rank == 1);
  CHECK(c.device == "cpu");
}

TEST_CASE("the mixing schedule thins out early mixing and never mixes after the last step") {
  RunConfig c = parse_config("max_epochs: 300\nepochs_step: 10\nmix_schedule: {every: 20, until: 150}\n", "t");
  CHECK_FALSE(c.mix_after(10));
  CHECK(c.mix_after(20));
  CHECK_FALSE(c.mix_after(30));
  CHECK(c.mix_after(150));
  CHECK(c.mix_after(160));
  CHECK(c.mix_after(290));
  CHECK_FALSE(c.mix_after(300));
  int events = 0;
  for (int e = 10; e <= 300; e += 10) events += c.mix_after(e);
  CHECK(events == 22);  // as in the Walker/Quadruped configs
  RunConfig always = parse_config("max_epochs: 300\nepochs_step: 10\n", "t");
  events = 0;
  for (int e = 10; e <= 300; e += 10) events += always.mix_after(e);
  CHECK(events == 29);  // GAN configs
}

TEST_CASE("bad configs are rejected with the key named and the valid range") {
  CHECK_THROWS_WITH(parse_config("populaton_size: 8\n", "f.yaml"),
                    Catch::Contains("f.yaml") && Catch::Contains("'populaton_size' is not a known key"));
  CHECK_THROWS_WITH(parse_config("algorithm: evolution\n", "f"), Catch::Contains("pbtnas, mutation, random"));
  CHECK_THROWS_WITH(parse_config("population_size: 3\n", "f"), Catch::Contains(">= 4"));
  CHECK_THROWS_WITH(parse_config("population_size: 8\nn_children: 3\n", "f"), Catch::Contains("set n_children to 2"));
  CHECK_THROWS_WITH(parse_config("swap_probability: 1.5\n", "f"), Catch::Contains("[0, 1]"));
  CHECK_THROWS_WITH(parse_config("final_soup: maybe\n", "f"), Catch::Contains("'final_soup'"));
  CHECK_THROWS_WITH(parse_config("shrink_perturb: [0.4]\n", "f"), Catch::Contains("two numbers"));
  CHECK_THROWS_WITH(parse_config("shrink_perturb_always: [0.4, 0.1]\n", "f"),
                    Catch::Contains("algorithm is pbtnas") && Catch::Contains("set algorithm: random"));
  CHECK_THROWS_WITH(parse_config("algorithm: random\nshrink_perturb_always: 0.4\n", "f"),
                    Catch::Contains("'shrink_perturb_always'") && Catch::Contains("two numbers"));
  CHECK_THROWS_WITH(parse_config("algorithm: random\nshrink_perturb_always: [0.4, -1]\n", "f"),
                    Catch::Contains("shrink_perturb_always[1]"));
  CHECK_THROWS_WITH(parse_config("max_epochs: 25\nepochs_step: 10\n", "f"), Catch::Contains("multiple of epochs_step"));
  CHECK_THROWS_WITH(parse_config("seed: abc\n", "f"), Catch::Contains("'seed'") && Catch::Contains("wrong type"));
  CHECK_THROWS_WITH(parse_config("seed: [1\n", "f"), Catch::Contains("not valid YAML"));
  CHECK_THROWS_WITH(read_config_file("/nonexistent/x.yaml"), Catch::Contains("cannot be read"));
  // A folder opens as an empty stream on Linux, and an empty file parses as all defaults: both
  // would start a full default search, so both are refused.
  const auto dir = std::filesystem::temp_directory_path() / ("pbtnas_config_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  CHECK_THROWS_WITH(read_config_file(dir.string()), Catch::Contains("is a folder; pass a YAML file"));
  std::ofstream(dir / "empty.yaml") << "# nothing but a comment\n\n   \n";
  CHECK_THROWS_WITH(read_config_file((dir / "empty.yaml").string()), Catch::Contains("is empty (no keys)"));
  std::ofstream(dir / "one.yaml") << "# a comment\nseed: 1\n";
  CHECK(read_config_file((dir / "one.yaml").string()) == "# a comment\nseed: 1\n");
  std::filesystem::remove_all(dir);
  // With a task named, only its section; without, one section (the default task's, checked by the
  // registry), never two.
  CHECK_THROWS_WITH(parse_config("task: classify\ngan: {gf_dim: 8}\n", "f"),
                    Catch::Contains("'gan' is not a known key") && Catch::Contains("named after the task"));
  CHECK(parse_config("gan: {gf_dim: 8}\n", "f").task_section == "gan");
  CHECK_THROWS_WITH(parse_config("gan: {}\nrl: {}\n", "f"), Catch::Contains("one section; name the task with task: NAME"));
}

TEST_CASE("absurd sizes are refused before anything is allocated") {
  CHECK_THROWS_WITH(parse_config("population_size: 1000000000\n", "f"),
                    Catch::Contains("'population_size' = 1000000000 is out of range") && Catch::Contains("65536"));
  CHECK_THROWS_WITH(parse_config("max_epochs: 10000000000\n", "f"), Catch::Contains("'max_epochs'"));
  CHECK_THROWS_WITH(parse_config("runtime: {threads_per_rank: 100000}\n", "f"), Catch::Contains("'runtime.threads_per_rank'"));
  CHECK_THROWS_WITH(parse_config("population_size: 8\ntesting: {nan_member: 8}\n", "f"), Catch::Contains("'testing.nan_member'"));
}

TEST_CASE("config: the signal testing hooks") {
  const RunConfig off = parse_config("seed: 1\n", "f");
  CHECK_FALSE(off.raise_signal.enabled());
  CHECK_FALSE(off.wait_for_signal.enabled());
  const RunConfig c = parse_config(
      "testing:\n  raise_signal: {signal: TERM, generation: 2, when: after_commit, count: 2}\n"
      "  wait_for_signal: {generation: 1, timeout_seconds: 30}\n", "f");
  CHECK(c.raise_signal.enabled());
  CHECK(c.raise_signal.signal == "TERM");
  CHECK(c.raise_signal.generation == 2);
  CHECK(c.raise_signal.when == RunPoint::AfterCommit);
  CHECK(c.raise_signal.count == 2);
  CHECK(c.raise_signal.rank == 0);
  CHECK(c.wait_for_signal.generation == 1);
  CHECK(c.wait_for_signal.when == RunPoint::DuringTraining);
  CHECK(c.wait_for_signal.timeout_seconds == 30.0);
  CHECK(parse_config("testing: {raise_signal: {generation: 0, rank: -1}}\n", "f").raise_signal.rank == -1);
  CHECK_THROWS_WITH(parse_config("testing: {raise_signal: {signal: KILL, generation: 1}}\n", "f"),
                    Catch::Contains("'testing.raise_signal.signal' = 'KILL' is not valid; expected one of INT, TERM, USR1"));
  CHECK_THROWS_WITH(parse_config("testing: {raise_signal: {signal: INT}}\n", "f"),
                    Catch::Contains("'testing.raise_signal.generation' is missing"));
  CHECK_THROWS_WITH(parse_config("testing: {raise_signal: {generation: 1, when: before_exploit}}\n", "f"),
                    Catch::Contains("'testing.raise_signal.when' = 'before_exploit' is not valid"));
  CHECK_THROWS_WITH(parse_config("testing: {raise_signal: {generation: 1, count: 3}}\n", "f"),
                    Catch::Contains("'testing.raise_signal.count'"));
  CHECK_THROWS_WITH(parse_config("testing: {raise_signal: {generation: 1, rank: 1, when: after_commit}}\n", "f"),
                    Catch::Contains("needs when: during_training"));
  CHECK_THROWS_WITH(parse_config("testing: {wait_for_signal: {generation: 1, signal: INT}}\n", "f"),
                    Catch::Contains("'testing.wait_for_signal.signal' is not a known key"));
  CHECK_THROWS_WITH(parse_config("testing: {raise_signal: 3}\n", "f"),
                    Catch::Contains("'testing.raise_signal' must be a mapping"));
}

TEST_CASE("config: the slow-worker testing hook") {
  const RunConfig off = parse_config("seed: 1\n", "f");
  CHECK(off.slow_rank == -1);
  CHECK(off.slow_generation == -1);
  const RunConfig c = parse_config("testing: {slow_rank: 3, slow_generation: 2, slow_step_seconds: 0.25}\n", "f");
  CHECK(c.slow_rank == 3);
  CHECK(c.slow_generation == 2);
  CHECK(c.slow_step_seconds == 0.25);
  CHECK_THROWS_WITH(parse_config("testing: {slow_rank: 0}\n", "f"),
                    Catch::Contains("'testing.slow_rank' = 0 names the coordinator"));
  CHECK_THROWS_WITH(parse_config("testing: {slow_rank: 1, slow_step_seconds: -1}\n", "f"),
                    Catch::Contains("'testing.slow_step_seconds'") && Catch::Contains("[0, 60]"));
}

TEST_CASE("a key given twice is an error naming the key and both lines") {
  CHECK_THROWS_WITH(parse_config("seed: 1\npopulation_size: 8\nseed: 2\n", "f.yaml"),
                    Catch::Contains("f.yaml") && Catch::Contains("'seed' is given twice (lines 1 and 3)"));
  CHECK_THROWS_WITH(parse_config("mix_schedule:\n  every: 2\n  every: 4\n", "f"),
                    Catch::Contains("'mix_schedule.every' is given twice (lines 2 and 3)"));
  CHECK_THROWS_WITH(parse_config("classify:\n  channels: 8\n  channels: 16\n", "f"),
                    Catch::Contains("'classify.channels' is given twice"));
}

TEST_CASE("config: the random search + shrink-perturb ablation is off unless named") {
  CHECK_FALSE(parse_config("algorithm: random\n", "t").shrink_perturb_always.enabled);
  const RunConfig c = parse_config("algorithm: random\nshrink_perturb_always: [0.5, 0.2]\n", "t");
  CHECK(c.shrink_perturb_always.enabled);
  CHECK(c.shrink_perturb_always.shrink == 0.5);
  CHECK(c.shrink_perturb_always.perturb == 0.2);
  CHECK(c.shrink == 0.4);  // the children's setting is a separate key
}
