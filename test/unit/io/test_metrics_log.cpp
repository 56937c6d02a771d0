// The run's JSON Lines logs (include/pbtnas/io/metrics_log.hpp): on resume they keep the rows
// up to the committed generation, replacing the file atomically; a generation committed by a
// process killed before it logged its timings gets a row rebuilt from metrics.jsonl.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "pbtnas/io/metrics_log.hpp"
#include "pbtnas/util/files.hpp"
#include "support/temp_dir.hpp"

using pbtnas::io::MetricsLog;
using pbtnas::io::recovered_generation_row;
using pbtnas::test::TempDir;

namespace {

std::string text_of(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string member_row(int generation, int member, const std::string& fitness, int epoch = 1) {
  return "{\"generation\":" + std::to_string(generation) + ",\"epoch\":" + std::to_string(epoch) +
         ",\"member\":" + std::to_string(member) + ",\"fitness\":" + fitness + "}\n";
}

}  // namespace

TEST_CASE("metrics log: resuming keeps the rows up to the committed generation, drops the rest and cut lines") {
  TempDir dir;
  const std::string path = dir / "generations.jsonl";
  write(path, "{\"generation\":0,\"a\":1}\n{\"generation\":1,\"a\":2}\n{\"generation\":2,\"a\":3}\n{\"generat");
  {
    MetricsLog log(path, 1);
    CHECK(log.last_kept_generation() == 1);
    log.append_json("{\"generation\":2,\"a\":4}");
  }
  CHECK(text_of(path) == "{\"generation\":0,\"a\":1}\n{\"generation\":1,\"a\":2}\n{\"generation\":2,\"a\":4}\n");
  CHECK_FALSE(std::filesystem::exists(pbtnas::temporary_name(path)));

  MetricsLog fresh(path, -1);  // a new run starts an empty file
  CHECK(fresh.last_kept_generation() == -1);
  CHECK(text_of(path).empty());
}

TEST_CASE("metrics log: a resume that cannot rewrite the file fails with its name and leaves it whole") {
  TempDir dir;
  const std::string path = dir / "metrics.jsonl";
  const std::string before = member_row(0, 0, "0.5") + member_row(1, 0, "0.6");
  write(path, before);
  std::filesystem::create_directory(pbtnas::temporary_name(path));  // the rewrite's temporary cannot be created
  try {
    MetricsLog log(path, 0);
    FAIL("no error although the file could not be rewritten");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Catch::Contains(path) && Catch::Contains("writable"));
  }
  CHECK(text_of(path) == before);
}

TEST_CASE("recovered generation row: best and median as the coordinator ranks, no timings") {
  TempDir dir;
  const std::string path = dir / "metrics.jsonl";
  // Generation 1: members 1 and 3 tie for best (the lower id wins); member 2 diverged (null).
  write(path, member_row(0, 0, "0.9") + member_row(1, 0, "0.2", 2) + member_row(1, 1, "0.7", 2) +
                  member_row(1, 2, "null", 2) + member_row(1, 3, "0.7", 2) + member_row(2, 0, "0.95", 3));
  const auto row = recovered_generation_row(path, 1);
  REQUIRE(row);
  const auto j = nlohmann::json::parse(*row);
  CHECK(j["generation"] == 1);
  CHECK(j["epoch"] == 2);
  CHECK(j["best_member"] == 1);
  CHECK(j["best_fitness"] == Approx(0.7));
  CHECK(j["median_fitness"] == Approx(0.7));  // sorted {-inf, 0.2, 0.7, 0.7}[2]
  CHECK(j["recovered"] == true);
  CHECK_FALSE(j.contains("train_seconds"));
  CHECK_FALSE(j.contains("checkpoint_seconds"));

  CHECK_FALSE(recovered_generation_row(path, 5));
  CHECK_FALSE(recovered_generation_row(dir / "absent.jsonl", 0));
}

TEST_CASE("worker totals: summed per rank over every row of workers.jsonl, earlier processes included") {
  TempDir dir;
  const std::string path = dir / "workers.jsonl";
  // Generations 0-1 from a first process with 2 workers, generation 2 after a resume with 3.
  write(path,
        "{\"generation\":0,\"rank\":1,\"busy_seconds\":1.5,\"wait_seconds\":0.5}\n"
        "{\"generation\":0,\"rank\":2,\"busy_seconds\":2.0,\"wait_seconds\":0.0}\n"
        "{\"generation\":1,\"rank\":1,\"busy_seconds\":1.0,\"wait_seconds\":1.0}\n"
        "{\"generation\":1,\"rank\":2,\"busy_seconds\":2.0,\"wait_seconds\":0.0}\n"
        "{\"generation\":2,\"rank\":3,\"busy_seconds\":4.0,\"wait_seconds\":0.25}\n"
        "{\"generation\":2,\"rank\":1,\"busy_se");  // cut by a crash: skipped
  const auto totals = pbtnas::io::worker_totals(path);
  REQUIRE(totals.size() == 3);
  CHECK(totals[0].rank == 1);
  CHECK(totals[0].busy_seconds == Approx(2.5));
  CHECK(totals[0].wait_seconds == Approx(1.5));
  CHECK(totals[1].rank == 2);
  CHECK(totals[1].busy_seconds == Approx(4.0));
  CHECK(totals[2].rank == 3);
  CHECK(totals[2].wait_seconds == Approx(0.25));
  CHECK(pbtnas::io::worker_totals(dir / "absent.jsonl").empty());
}
