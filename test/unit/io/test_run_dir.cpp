// The run directory: commit protocol, verification, fallback on resume, pruning.
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <sstream>

#include "unit/io/io_fixtures.hpp"

using namespace pbtnas;
using pbtnas::test::TempDir;

namespace {

std::string verify_error(const std::string& out, std::int64_t gen) {
  try {
    io::verify_generation(out, gen);
  } catch (const io::CheckpointError& e) {
    return e.what();
  }
  return "(verified)";
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void flip_byte(const std::string& path, std::uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x10));
}

}  // namespace

TEST_CASE("directory and file names", "[io][rundir]") {
  CHECK(io::generation_dir("/o", 3) == "/o/checkpoints/gen_000003");
  CHECK(io::member_file_name(7) == "member_007.h5");
  CHECK(io::member_file_name(1234) == "member_1234.h5");
  CHECK(io::member_file_path("/o", 12, 5) == "/o/checkpoints/gen_000012/member_005.h5");
  CHECK(io::index_file_path("/o", 0) == "/o/checkpoints/gen_000000/index.h5");
}

TEST_CASE("a committed generation verifies and becomes the latest", "[io][rundir]") {
  TempDir out;
  CHECK_FALSE(io::resume_generation(out.str()).has_value());
  test::write_generation(out.str(), 0, 3, 0);
  test::write_generation(out.str(), 1, 3, 0);
  CHECK_NOTHROW(io::verify_generation(out.str(), 1));
  CHECK(io::resume_generation(out.str()) == 1);
  CHECK(read_text(io::checkpoints_dir(out.str()) + "/LATEST") == "1\n");
  CHECK(io::list_generation_dirs(out.str()) == std::vector<std::int64_t>{0, 1});
  // What a resumed run reads back is what was saved.
  const auto m = io::read_member_file(io::member_file_path(out.str(), 1, 2));
  CHECK(test::same_bits(m.state[0].tensor, test::make_member(2, 1).state[0].tensor));
}

TEST_CASE("missing index.h5: not committed, resume falls back", "[io][rundir]") {
  TempDir out;
  test::write_generation(out.str(), 4, 2, 0);
  // Generation 5: member files written, killed before the coordinator committed.
  for (int i = 0; i < 2; ++i)
    io::write_member_file(io::member_file_path(out.str(), 5, i), test::make_member(i, 5));
  CHECK_THAT(verify_error(out.str(), 5),
             Catch::Contains("index.h5 is missing") && Catch::Contains("never committed"));
  std::map<std::int64_t, std::string> skipped;
  auto latest = io::resume_generation(
      out.str(), [&](std::int64_t g, const std::string& why) { skipped[g] = why; });
  CHECK(latest == 4);
  REQUIRE(skipped.count(5));
  CHECK_THAT(skipped[5], Catch::Contains("gen_000005/index.h5 is missing"));

  io::discard_uncommitted(out.str(), *latest);
  CHECK(io::list_generation_dirs(out.str()) == std::vector<std::int64_t>{4});
  CHECK(read_text(io::checkpoints_dir(out.str()) + "/LATEST") == "4\n");
}

TEST_CASE("a truncated member file fails verification, naming the file", "[io][rundir]") {
  TempDir out;
  test::write_generation(out.str(), 0, 3, 0);
  test::write_generation(out.str(), 1, 3, 0);
  const std::string victim = io::member_file_path(out.str(), 1, 2);
  const auto size = std::filesystem::file_size(victim);
  std::filesystem::resize_file(victim, size - 100);
  const std::string why = verify_error(out.str(), 1);
  CHECK_THAT(why, Catch::Contains(victim) && Catch::Contains("truncated") &&
                      Catch::Contains("expected " + std::to_string(size)) &&
                      Catch::Contains("delete generation dir"));
  // The newest committed generation is damaged: resume refuses and says how to fall back.
  CHECK_THROWS_WITH(io::resume_generation(out.str()),
                    Catch::Contains(victim) && Catch::Contains("move " + io::generation_dir(out.str(), 1) + " out of the way"));
}

TEST_CASE("a damaged only committed generation: resume says deleting it would restart the run", "[io][rundir]") {
  TempDir out;
  test::write_generation(out.str(), 0, 2, 0);
  flip_byte(io::member_file_path(out.str(), 0, 1), 700);
  const std::string why = test::error_of([&] { io::resume_generation(out.str()); });
  CHECK_THAT(why, Catch::Contains("does not apply here: no older committed generation is left") &&
                      Catch::Contains("start the run afresh and reset its logs") && Catch::Contains("new --out"));
  CHECK_THAT(why, !Catch::Contains("To resume from the previous committed generation instead"));
  // With an older committed generation the fall-back is offered instead.
  test::write_generation(out.str(), 1, 2, 0);
  flip_byte(io::member_file_path(out.str(), 1, 1), 700);
  const std::string with_older = test::error_of([&] { io::resume_generation(out.str()); });
  CHECK_THAT(with_older, Catch::Contains("To resume from the previous committed generation instead") &&
                             !Catch::Contains("does not apply here"));
}

TEST_CASE("a flipped byte fails the CRC check", "[io][rundir]") {
  TempDir out;
  test::write_generation(out.str(), 0, 2, 0);
  test::write_generation(out.str(), 1, 2, 0);
  const std::string victim = io::member_file_path(out.str(), 1, 0);
  flip_byte(victim, std::filesystem::file_size(victim) / 2);
  CHECK_THAT(verify_error(out.str(), 1), Catch::Contains(victim) && Catch::Contains("CRC-32"));
  CHECK_THROWS_WITH(io::resume_generation(out.str()), Catch::Contains("CRC-32") && Catch::Contains("out of the way"));
  // Moved away as the message says: resume falls back to generation 0.
  std::filesystem::rename(io::generation_dir(out.str(), 1), out.file("moved"));
  CHECK(io::resume_generation(out.str()) == 0);
}

TEST_CASE("a missing member file or a damaged index fails verification", "[io][rundir]") {
  TempDir out;
  test::write_generation(out.str(), 0, 2, 0);
  test::write_generation(out.str(), 1, 2, 0);
  SECTION("missing member file") {
    std::filesystem::remove(io::member_file_path(out.str(), 1, 1));
    CHECK_THAT(verify_error(out.str(), 1), Catch::Contains("member_001.h5 is missing"));
  }
  SECTION("garbage index") {
    test::write_bytes(io::index_file_path(out.str(), 1), "garbage");
    CHECK_THAT(verify_error(out.str(), 1), Catch::Contains("index.h5"));
  }
  SECTION("index of another generation") {
    std::filesystem::copy_file(io::index_file_path(out.str(), 0), io::index_file_path(out.str(), 1),
                               std::filesystem::copy_options::overwrite_existing);
    CHECK_THAT(verify_error(out.str(), 1), Catch::Contains("says generation 0"));
  }
  CHECK_THROWS_WITH(io::resume_generation(out.str()), Catch::Contains("out of the way"));
}

TEST_CASE("commit refuses an index whose member files are not all there", "[io][rundir]") {
  TempDir out;
  io::GenerationIndex idx = test::make_index(0, 2);
  const std::string path = io::member_file_path(out.str(), 0, 0);
  io::write_member_file(path, test::make_member(0, 0));
  idx.files.push_back(io::describe_file(0, path));
  CHECK_THROWS_WITH(
      io::commit_generation(out.str(), idx, 2),
      Catch::Contains("cannot commit generation 0") && Catch::Contains("no file for member 1"));
  idx.files.push_back({1, "member_001.h5", 100, 0});
  CHECK_THROWS_WITH(io::commit_generation(out.str(), idx, 2),
                    Catch::Contains("member_001.h5 is missing"));
  CHECK_FALSE(std::filesystem::exists(io::index_file_path(out.str(), 0)));
}

TEST_CASE("pruning keeps the newest `keep` committed generations", "[io][rundir]") {
  TempDir out;
  SECTION("keep 2") {
    for (int g = 0; g < 5; ++g) test::write_generation(out.str(), g, 2, 2);
    CHECK(io::list_generation_dirs(out.str()) == std::vector<std::int64_t>{3, 4});
  }
  SECTION("keep 1") {
    for (int g = 0; g < 3; ++g) test::write_generation(out.str(), g, 2, 1);
    CHECK(io::list_generation_dirs(out.str()) == std::vector<std::int64_t>{2});
  }
  SECTION("keep 0 keeps all") {
    for (int g = 0; g < 4; ++g) test::write_generation(out.str(), g, 2, 0);
    CHECK(io::list_generation_dirs(out.str()) == std::vector<std::int64_t>{0, 1, 2, 3});
  }
  SECTION("a generation that fails verification does not count towards the window") {
    for (int g = 0; g < 3; ++g) test::write_generation(out.str(), g, 2, 0);
    std::filesystem::resize_file(io::member_file_path(out.str(), 2, 0), 100);
    test::write_generation(out.str(), 3, 2, 2);
    // Window = {3, 1}; 0 is older and deleted; the damaged 2 is left for the user.
    CHECK(io::list_generation_dirs(out.str()) == std::vector<std::int64_t>{1, 2, 3});
    CHECK(io::resume_generation(out.str()) == 3);
  }
  SECTION("nothing is deleted while the window is not full") {
    test::write_generation(out.str(), 0, 2, 0);
    std::filesystem::remove(io::index_file_path(out.str(), 0));
    test::write_generation(out.str(), 1, 2, 2);
    CHECK(io::list_generation_dirs(out.str()) == std::vector<std::int64_t>{0, 1});
  }
  const auto gens = io::list_generation_dirs(out.str());
  REQUIRE_FALSE(gens.empty());
  CHECK_NOTHROW(io::verify_generation(out.str(), gens.back()));
}

TEST_CASE("pruning can leave the deletion to the caller, taking the directories out first", "[io][rundir]") {
  TempDir out;
  const std::string ckpt = out.str() + "/checkpoints";
  for (int g = 0; g < 2; ++g) test::write_generation(out.str(), g, 3, 0);
  // A directory an earlier process took out but did not finish deleting.
  std::filesystem::create_directories(ckpt + "/.pruned_gen_000099");
  test::write_bytes(ckpt + "/.pruned_gen_000099/member_000.h5", "x");

  io::GenerationIndex idx = test::make_index(2, 3);
  for (int i = 0; i < 3; ++i) {
    const std::string path = io::member_file_path(out.str(), 2, i);
    idx.files.push_back(io::write_member_file(path, test::make_member(i, 2)));
  }
  std::vector<std::string> pruned;
  io::commit_generation(out.str(), idx, 2, &pruned);
  // Window {2, 1}: generation 0 is out of the run at once (not listed, not resumable) ...
  CHECK(io::list_generation_dirs(out.str()) == std::vector<std::int64_t>{1, 2});
  CHECK(io::resume_generation(out.str()) == 2);
  std::sort(pruned.begin(), pruned.end());
  REQUIRE(pruned.size() == 2);
  CHECK(std::filesystem::path(pruned[0]).filename() == ".pruned_gen_000000");
  CHECK(std::filesystem::path(pruned[1]).filename() == ".pruned_gen_000099");
  CHECK_FALSE(std::filesystem::exists(pruned[0] + "/index.h5"));  // uncommitted before the move
  CHECK(std::filesystem::exists(pruned[0] + "/member_000.h5"));
  // ... and its files are deleted when the caller says so.
  io::remove_pruned(pruned);
  CHECK_FALSE(std::filesystem::exists(pruned[0]));
  CHECK_FALSE(std::filesystem::exists(pruned[1]));
  CHECK_NOTHROW(io::verify_generation(out.str(), 1));
}

TEST_CASE("pruning without a caller to hand them to deletes the directories at once, leftovers too", "[io][rundir]") {
  TempDir out;
  const std::string ckpt = out.str() + "/checkpoints";
  for (int g = 0; g < 2; ++g) test::write_generation(out.str(), g, 3, 0);
  // Leftovers of an earlier process: one under the very name generation 0 is about to take.
  for (const char* left : {"/.pruned_gen_000000", "/.pruned_gen_000099"}) {
    std::filesystem::create_directories(ckpt + left);
    test::write_bytes(ckpt + left + "/member_000.h5", "x");
  }
  io::GenerationIndex idx = test::make_index(2, 3);
  for (int i = 0; i < 3; ++i)
    idx.files.push_back(io::write_member_file(io::member_file_path(out.str(), 2, i), test::make_member(i, 2)));
  io::commit_generation(out.str(), idx, 2);
  CHECK(io::list_generation_dirs(out.str()) == std::vector<std::int64_t>{1, 2});
  CHECK_FALSE(std::filesystem::exists(io::generation_dir(out.str(), 0)));
  CHECK_FALSE(std::filesystem::exists(ckpt + "/.pruned_gen_000000"));
  CHECK_FALSE(std::filesystem::exists(ckpt + "/.pruned_gen_000099"));
  CHECK_NOTHROW(io::verify_generation(out.str(), 1));
  CHECK(io::resume_generation(out.str()) == 2);
}

TEST_CASE("discard_uncommitted removes every newer generation directory", "[io][rundir]") {
  TempDir out;
  test::write_generation(out.str(), 0, 2, 0);
  test::write_generation(out.str(), 1, 2, 0);
  io::write_member_file(io::member_file_path(out.str(), 2, 0), test::make_member(0, 2));
  test::write_bytes(io::member_file_path(out.str(), 2, 1) + ".tmp", "partial");
  io::discard_uncommitted(out.str(), 0);
  CHECK(io::list_generation_dirs(out.str()) == std::vector<std::int64_t>{0});
  io::discard_uncommitted(out.str(), -1);
  CHECK(io::list_generation_dirs(out.str()).empty());
  CHECK_FALSE(std::filesystem::exists(io::checkpoints_dir(out.str()) + "/LATEST"));
}
