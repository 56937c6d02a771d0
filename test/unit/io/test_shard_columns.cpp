// Shard format 2: a shard's members as columns; shards of format 1 (a group per member) still read.
#include <hdf5.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "io_fixtures.hpp"
#include "pbtnas/io/inspect.hpp"
#include "pbtnas/io/member_shard.hpp"

using namespace pbtnas;
using pbtnas::test::error_of;
using pbtnas::test::make_member;

namespace {

std::vector<io::MemberFile> members_of(int n) {
  std::vector<io::MemberFile> members;
  for (int id = 0; id < n; ++id) members.push_back(make_member(2 * id + 1, 3));
  return members;
}

// Objects (groups and datasets) in an HDF5 file, the root excluded.
int objects_in(const std::string& path) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  int count = 0;
  H5Ovisit(f, H5_INDEX_NAME, H5_ITER_INC,
           [](hid_t, const char* name, const H5O_info_t*, void* n) {
             if (std::string(name) != ".") ++*static_cast<int*>(n);
             return 0;
           },
           &count);
  H5Fclose(f);
  return count;
}

}  // namespace

TEST_CASE("shard columns: members of every shape read back bit-exactly, each alone", "[io][shard]") {
  test::TempDir dir;
  std::vector<io::MemberFile> members = members_of(4);
  members[1].state.push_back({"extra.big", torch::randn({200, 100})});  // >= 64 KiB: its own dataset
  members[2].fitness.clear();                                           // no fitness yet
  members[2].genome_options.clear();                                    // no option names (allowed)
  members[2].state.push_back({"model.half", torch::randn({5}).to(torch::kFloat16)});
  members[3].evaluation = {{"test_acc", 0.91}, {"val_acc", 0.9}};
  members[3].genome = {2, 0, 1, 1};
  members[3].genome_options = {"skip", "conv3x3", "sep5x5", "sep5x5"};
  const io::ShardEntry e = io::write_member_shard(dir.file("gen/shard_001.h5"), 3, 1, members);
  REQUIRE(e.locations.size() == 4);
  CHECK(e.locations[2].group == "member_005");
  io::MemberReader reader(dir.file("gen"));
  // In an order other than the file's, and one member read twice.
  for (int i : {3, 0, 2, 1, 3}) test::check_same_member(reader.read(e.locations[static_cast<std::size_t>(i)]), members[static_cast<std::size_t>(i)]);
  const io::MemberFile names = reader.read(e.locations[1], false);
  CHECK(names.state.size() == members[1].state.size());
  CHECK(names.state.back().name == "extra.big");
  CHECK_FALSE(names.state.back().tensor.defined());
  std::ostringstream text;
  io::inspect(dir.file("gen/shard_001.h5"), text);
  CHECK_THAT(text.str(), Catch::Contains("4 members   format version 2") && Catch::Contains("      3        9"));
}

TEST_CASE("shard columns: the number of HDF5 objects does not grow with the members", "[io][shard]") {
  test::TempDir dir;
  io::write_member_shard(dir.file("a/shard_001.h5"), 0, 1, members_of(4));
  io::write_member_shard(dir.file("b/shard_001.h5"), 0, 1, members_of(64));
  io::write_member_shard(dir.file("c/shard_001.h5"), 0, 1, members_of(4), io::Durability::Synced, 1);
  io::write_member_shard(dir.file("d/shard_001.h5"), 0, 1, members_of(64), io::Durability::Synced, 1);
  const int four = objects_in(dir.file("a/shard_001.h5")), many = objects_in(dir.file("b/shard_001.h5"));
  CHECK(four == many);
  CHECK(four < 24);
  // Format 1 had a group of about a dozen objects per member.
  CHECK(objects_in(dir.file("d/shard_001.h5")) > 64 * 10);
  CHECK(objects_in(dir.file("c/shard_001.h5")) > 4 * 10);
}

TEST_CASE("shard columns: a shard of format 1 (a group per member) still reads and inspects", "[io][shard]") {
  test::TempDir dir;
  const std::vector<io::MemberFile> members = members_of(3);
  const io::ShardEntry e =
      io::write_member_shard(dir.file("gen/shard_002.h5"), 3, 2, members, io::Durability::Synced, 1);
  io::MemberReader reader(dir.file("gen"));
  for (std::size_t i = 0; i < members.size(); ++i) test::check_same_member(reader.read(e.locations[i]), members[i]);
  std::ostringstream text;
  io::inspect(dir.file("gen/shard_002.h5"), text);
  CHECK_THAT(text.str(), Catch::Contains("3 members   format version 1"));
  CHECK_THROWS_WITH(io::write_member_shard(dir.file("gen/shard_003.h5"), 0, 1, {}, io::Durability::Synced, 3),
                    Catch::Contains("shard format version 3 does not exist"));
}

TEST_CASE("shard columns: inconsistent columns and a missing member are named", "[io][shard]") {
  test::TempDir dir;
  const io::ShardEntry e = io::write_member_shard(dir.file("gen/shard_001.h5"), 3, 1, members_of(3));
  io::MemberLocation missing{9, "shard_001.h5", "member_009"};
  {
    io::MemberReader reader(dir.file("gen"));
    CHECK_THAT(error_of([&] { reader.read(missing); }),
               Catch::Contains("shard_001.h5") && Catch::Contains("member_009") && Catch::Contains("missing"));
  }
  {  // tensor_starts no longer spans tensor_names (the file's CRC is not checked by this reader)
    hid_t f = H5Fopen(dir.file("gen/shard_001.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(f >= 0);
    hid_t d = H5Dopen2(f, "tensor_starts", H5P_DEFAULT);
    const std::int64_t starts[4] = {0, 8, 16, 23};
    REQUIRE(H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, starts) >= 0);
    H5Dclose(d);
    H5Fclose(f);
  }
  io::MemberReader reader(dir.file("gen"), /*check_crc=*/false);
  CHECK_THAT(error_of([&] { reader.read(e.locations[0]); }),
             Catch::Contains("shard_001.h5") && Catch::Contains("member 1") && Catch::Contains("tensor_starts") &&
                 Catch::Contains("does not span"));
}
