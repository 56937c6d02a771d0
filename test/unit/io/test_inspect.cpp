// `inspect` on index and member files.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "unit/io/io_fixtures.hpp"

using namespace pbtnas;
using pbtnas::test::TempDir;

namespace {

std::string inspect_text(const std::string& path, bool tensors = true) {
  std::ostringstream s;
  io::inspect(path, s, tensors);
  return s.str();
}

void check_width(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    INFO(line);
    CHECK(line.size() <= 100);
  }
}

}  // namespace

TEST_CASE("inspect of a member file lists its header and tensors", "[io][inspect]") {
  TempDir tmp;
  const std::string path = tmp / "member_004.h5";
  io::write_member_file(path, test::make_member(4, 2));
  const std::string text = inspect_text(path);
  CAPTURE(text);
  CHECK_THAT(text, Catch::Contains("member 4") && Catch::Contains("generation 2"));
  CHECK_THAT(text, Catch::Contains("architecture: sep5x5 sep5x5 skip"));
  CHECK_THAT(text, Catch::Contains("fitness (2 values): 0.54 0.64"));
  CHECK_THAT(text, Catch::Contains("tensors (8,"));
  CHECK_THAT(text, Catch::Matches(
                       R"([\s\S]*model\.stem\.conv\.weight +float32 +8x1x3x3 +72  mean [\s\S]*)"));
  CHECK_THAT(text, Catch::Matches(R"([\s\S]*optim\.0\.count +int64 +scalar +1  value 2\n[\s\S]*)"));
  check_width(text);

  // By default: the groups and a count, and how to list them all.
  const std::string summary = inspect_text(path, false);
  CAPTURE(summary);
  CHECK_THAT(summary, Catch::Contains("groups") && Catch::Contains("tensors: 8,") &&
                          Catch::Contains("pbtnas inspect --tensors " + path));
  CHECK_THAT(summary, !Catch::Contains("model.stem.conv.weight"));
}

TEST_CASE("inspect prints whole tensor names, however long", "[io][inspect]") {
  TempDir tmp;
  const std::string path = tmp / "member_000.h5";
  io::MemberFile m = test::make_member(0, 0);
  const std::string name = "model.cells.12.mixed_operation.branches.3.depthwise_separable.pointwise.weight";
  m.state.push_back({name, torch::zeros({2, 2})});
  io::write_member_file(path, m);
  CHECK_THAT(inspect_text(path), Catch::Contains(name + " "));
}

TEST_CASE("inspect of a member file next to its index names the genes", "[io][inspect]") {
  TempDir out;
  test::write_generation(out.str(), 0, 2, 0);
  const std::string text = inspect_text(io::member_file_path(out.str(), 0, 1), false);
  CAPTURE(text);
  CHECK_THAT(text, Catch::Contains("architecture: cell0.op=sep5x5 cell1.op=sep5x5 cell2.op=skip"));
}

TEST_CASE("inspect of an index shows the population, lineage and best tensors", "[io][inspect]") {
  TempDir out;
  io::GenerationIndex idx = test::make_index(3, 4);
  idx.members[2].fitness = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.95};
  idx.members[2].lineage = {{0, 3, 2}, {2}, {1, 2}};
  Incarnation mix;
  mix.seq_id = 9;
  mix.slot = 2;
  mix.kind = ChildKind::Mix;
  mix.parent1 = 0;
  mix.parent2 = 3;
  idx.history.push_back(mix);
  idx.members[2].incarnation = 9;
  for (int i = 0; i < 4; ++i) {
    const std::string path = io::member_file_path(out.str(), 3, i);
    io::write_member_file(path, test::make_member(i, 3));
    idx.files.push_back(io::describe_file(i, path));
  }
  io::commit_generation(out.str(), idx, 2);

  const std::string text = inspect_text(io::index_file_path(out.str(), 3));
  CAPTURE(text);
  CHECK_THAT(text, Catch::Contains("generation 3") && Catch::Contains("next epoch 40") &&
                       Catch::Contains("seed 31173") && Catch::Contains("algorithm pbt-nas"));
  CHECK_THAT(text,
             Catch::Contains("search space tiny (3 genes)") && Catch::Contains("population 4"));
  CHECK_THAT(text, Catch::Contains("status: committed (4 member files verified"));
  CHECK_THAT(
      text,
      Catch::Matches(
          R"([\s\S]*\n +2 +0\.95 +\.\.\. 0\.3 0\.4 0\.5 0\.6 0\.95 +mix 0\+3 +cell0\.op=skip cell1\.op=sep5x5\n +cell2\.op=skip\n[\s\S]*)"));
  CHECK_THAT(text, Catch::Matches(
                       R"([\s\S]*\n +0 +0\.6 +0\.5 0\.6 +initial +cell0\.op=conv3x3 cell1\.op=sep5x5\n +cell2\.op=skip\n[\s\S]*)"));
  CHECK_THAT(text, Catch::Contains("best member 2 (fitness 0.95), file member_002.h5"));
  CHECK_THAT(text, Catch::Matches(R"([\s\S]*cell0\.op +skip +0 -> 3 -> 2\n[\s\S]*)"));
  CHECK_THAT(text, Catch::Contains("model.cells.0.op.weight"));
  check_width(text);

  // A damaged member file shows up in the status line.
  std::filesystem::resize_file(io::member_file_path(out.str(), 3, 1), 50);
  CHECK_THAT(inspect_text(io::index_file_path(out.str(), 3)),
             Catch::Contains("status: NOT VALID") && Catch::Contains("truncated"));
}

TEST_CASE("inspect rejects files that are not pbtnas checkpoints", "[io][inspect]") {
  TempDir tmp;
  test::write_bytes(tmp / "notes.txt", "hello");
  CHECK_THROWS_AS(inspect_text(tmp / "notes.txt"), io::CheckpointError);
  CHECK_THROWS_WITH(inspect_text(tmp / "notes.txt"), Catch::Contains("not a pbtnas checkpoint"));
}

// Hidden ("[.]"): writes a small committed run to $PBTNAS_IO_DEMO_OUT and prints `inspect` of its
// index and of one member file; used to produce and check the examples in
// docs/checkpoint-format.md (h5ls, h5py). Run: PBTNAS_IO_DEMO_OUT=/tmp/demo pbtnas_io_tests
// "[demo]"
TEST_CASE("demo run directory for the documentation", "[.][demo]") {
  const char* out = std::getenv("PBTNAS_IO_DEMO_OUT");
  REQUIRE(out != nullptr);
  io::GenerationIndex idx = test::write_generation(out, 0, 4, 2);
  idx = test::write_generation(out, 1, 4, 2);
  io::MemberFile all = test::make_member(9, 1);
  all.state = {{"model.f16", torch::tensor({1.5f, -2.0f}).to(torch::kFloat16)},
               {"model.bf16", torch::tensor({1.5f, -2.0f}).to(torch::kBFloat16)},
               {"model.mask", torch::tensor({true, false, true})},
               {"model.u8", torch::tensor({std::uint8_t{7}, std::uint8_t{255}})},
               {"model.scalar", torch::tensor(2.5)},
               {"model.empty", torch::empty({0, 3})}};
  io::write_member_file(std::string(out) + "/dtypes.h5", all);
  std::cout << inspect_text(io::index_file_path(out, 1)) << "\n"
            << inspect_text(io::member_file_path(out, 1, 2));
}
