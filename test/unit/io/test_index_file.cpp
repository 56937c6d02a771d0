// index.h5: round trip of the coordinator's bookkeeping.
#include <hdf5.h>

#include <catch2/catch.hpp>
#include <limits>

#include "unit/io/io_fixtures.hpp"

using namespace pbtnas;
using pbtnas::test::TempDir;

TEST_CASE("index round trip keeps records, lineage, history and strings", "[io][index]") {
  TempDir tmp;
  io::GenerationIndex idx = test::make_index(12, 4);
  idx.seed = std::numeric_limits<std::uint64_t>::max() - 3;
  idx.config_yaml = std::string("# ünïcode comment\n") + std::string(100000, 'y') + "\nend: 1\n";
  idx.members[1].lineage = {{1, 3, 3, 0}, {}, {2}};
  idx.members[2].fitness = {};
  idx.members[3].fitness = {0.25, kFitnessDiverged};
  Incarnation mix;
  mix.seq_id = 4;
  mix.slot = 2;
  mix.birth_generation = 11;
  mix.parent1 = 1;
  mix.parent2 = 3;
  mix.kind = ChildKind::Mix;
  mix.changed_genes = {0, 2};
  mix.old_values = {1, 0};
  mix.new_values = {2, 0};
  mix.final_generation = -1;
  mix.final_fitness = 0.75;
  idx.history.push_back(mix);
  idx.history[0].kind = ChildKind::ArchMutation;
  idx.history[0].final_generation = 11;
  idx.members[2].incarnation = 4;
  idx.files = {{0, "member_000.h5", 12345, 0xdeadbeef}, {1, "member_001.h5", 1, 0}};
  idx.best_ever_fitness = kFitnessDiverged;

  const std::string path = tmp / "sub/dir/index.h5";  // parent directories are created
  io::write_index(path, idx);
  const io::GenerationIndex r = io::read_index(path);

  CHECK(r.format_version == io::kIndexFormatVersion);
  CHECK(r.generation == 12);
  CHECK(r.next_epoch == idx.next_epoch);
  CHECK(r.seed == idx.seed);
  CHECK(r.algorithm == "pbt-nas");
  CHECK(r.config_yaml == idx.config_yaml);
  CHECK(r.space_name == "tiny");
  CHECK(r.gene_names == idx.gene_names);
  CHECK(r.gene_options == idx.gene_options);
  REQUIRE(r.members.size() == idx.members.size());
  for (std::size_t i = 0; i < idx.members.size(); ++i) {
    INFO("member " << i);
    CHECK(r.members[i].id == idx.members[i].id);
    CHECK(r.members[i].genome == idx.members[i].genome);
    CHECK(r.members[i].fitness == idx.members[i].fitness);
    CHECK(r.members[i].lineage == idx.members[i].lineage);
    CHECK(r.members[i].incarnation == idx.members[i].incarnation);
  }
  REQUIRE(r.history.size() == idx.history.size());
  for (std::size_t i = 0; i < idx.history.size(); ++i) {
    INFO("history " << i);
    const Incarnation &a = r.history[i], &b = idx.history[i];
    CHECK(a.seq_id == b.seq_id);
    CHECK(a.slot == b.slot);
    CHECK(a.birth_generation == b.birth_generation);
    CHECK(a.parent1 == b.parent1);
    CHECK(a.parent2 == b.parent2);
    CHECK(a.kind == b.kind);
    CHECK(a.changed_genes == b.changed_genes);
    CHECK(a.old_values == b.old_values);
    CHECK(a.new_values == b.new_values);
    CHECK(a.final_generation == b.final_generation);
    CHECK(a.final_fitness == b.final_fitness);
  }
  REQUIRE(r.files.size() == 2);
  CHECK(r.files[0].file == "member_000.h5");
  CHECK(r.files[0].bytes == 12345);
  CHECK(r.files[0].crc32 == 0xdeadbeef);
  CHECK(r.files[1].member == 1);
  CHECK(r.best_ever_fitness == kFitnessDiverged);
  CHECK(r.best_ever_member == idx.best_ever_member);
  CHECK(r.best_ever_generation == idx.best_ever_generation);
}

TEST_CASE("an empty population round-trips", "[io][index]") {
  TempDir tmp;
  io::GenerationIndex idx;
  idx.generation = 0;
  io::write_index(tmp / "index.h5", idx);
  const auto r = io::read_index(tmp / "index.h5");
  CHECK(r.members.empty());
  CHECK(r.history.empty());
  CHECK(r.files.empty());
  CHECK(r.gene_options.empty());
}

TEST_CASE("duplicate member ids are rejected", "[io][index]") {
  TempDir tmp;
  io::GenerationIndex idx = test::make_index(0, 3);
  idx.members[2].id = 0;
  CHECK_THROWS_AS(io::write_index(tmp / "index.h5", idx), io::CheckpointError);
  CHECK_FALSE(std::filesystem::exists(tmp / "index.h5"));
}

TEST_CASE("a member file passed as an index is rejected", "[io][index]") {
  TempDir tmp;
  io::write_member_file(tmp / "m.h5", test::make_member(0, 0));
  CHECK_THROWS_WITH(io::read_index(tmp / "m.h5"), Catch::Contains("'pbtnas-member' file"));
}

TEST_CASE("an index keeps the member records as a few columns, not a group per member", "[io][index]") {
  TempDir tmp;
  const std::string path = tmp / "index.h5";
  io::write_index(path, test::make_index(3, 200));
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t g = H5Gopen2(f, "members", H5P_DEFAULT);
  H5G_info_t info;
  H5Gget_info(g, &info);
  H5Gclose(g);
  H5Fclose(f);
  // incarnation, genome(+offsets), fitness(+offsets), lineage(+offsets), lineage_rows, and
  // (format 3) file and group: where each member lies
  CHECK(info.nlinks == 10);
  CHECK(io::read_index(path).members.size() == 200);
}

TEST_CASE("index files of format version 1 (a group per member) are still read", "[io][index]") {
  // test/data/index_v1.h5 was written by pbtnas 0.1.0 before the columnar member records.
  const io::GenerationIndex r = io::read_index(std::string(PBTNAS_SOURCE_DIR) + "/test/data/index_v1.h5");
  CHECK(r.format_version == 1);
  CHECK(r.generation == 4);
  CHECK(r.next_epoch == 50);
  CHECK(r.seed == 31173);
  CHECK(r.gene_options[0] == std::vector<std::string>{"conv3x3", "sep5x5", "skip"});
  REQUIRE(r.members.size() == 3);
  for (int i = 0; i < 3; ++i) {
    INFO("member " << i);
    CHECK(r.members[i].id == i);
    CHECK(r.members[i].genome == std::vector<int>{i % 3, 1, 0});
    CHECK(r.members[i].fitness == std::vector<double>{0.5 + 0.01 * i, 0.6 + 0.01 * i});
    CHECK(r.members[i].lineage == std::vector<std::vector<int>>{{i}, {i, (i + 1) % 3}, {}});
    CHECK(r.members[i].incarnation == (i == 0 ? 3 : i));
  }
  REQUIRE(r.history.size() == 4);
  CHECK(r.history[3].kind == ChildKind::Mix);
  CHECK(r.history[3].changed_genes == std::vector<int>{1});
  CHECK(r.history[0].final_fitness == 0.25);
  REQUIRE(r.files.size() == 1);
  CHECK(r.files[0].crc32 == 0xdeadbeef);
  CHECK(r.best_ever_member == 2);
}
