// Format 3: a worker's members of one generation in one shard file, and the index placing each
// member in its shard's group; readers of formats 1-2 (member files) kept.
#include <catch2/catch.hpp>

#include "io_fixtures.hpp"
#include "pbtnas/io/member_shard.hpp"

using namespace pbtnas;
using pbtnas::test::error_of;
using pbtnas::test::make_index;
using pbtnas::test::make_member;

namespace {

// Generation `gen` of `n` members on `workers` workers (member m on worker 1 + m % workers), one
// shard each, committed.
io::GenerationIndex write_sharded_generation(const std::string& out, std::int64_t gen, int n, int workers,
                                             int keep = 0) {
  io::GenerationIndex idx = make_index(gen, n);
  for (int w = 1; w <= workers; ++w) {
    std::vector<io::MemberFile> members;
    for (int m = w - 1; m < n; m += workers) members.push_back(make_member(m, gen));
    const auto e = io::write_member_shard(io::shard_file_path(out, gen, w), gen, w, members, io::Durability::Deferred);
    idx.files.push_back(e.file);
    idx.locations.insert(idx.locations.end(), e.locations.begin(), e.locations.end());
  }
  std::vector<std::string> paths;
  for (const auto& f : idx.files) paths.push_back(io::generation_dir(out, gen) + "/" + f.file);
  io::sync_member_files(paths);
  io::commit_generation(out, idx, keep);
  return idx;
}

}  // namespace

TEST_CASE("member shard: members written together read back bit-exactly, from their groups", "[io][shard]") {
  test::TempDir dir;
  const std::string path = dir.file("gen/shard_002.h5");
  std::vector<io::MemberFile> members{make_member(1, 4), make_member(3, 4), make_member(5, 4)};
  members[1].state.push_back({"extra.big", torch::randn({200, 100})});  // a tensor of its own (>= 64 KiB)
  const io::ShardEntry e = io::write_member_shard(path, 4, 2, members);
  CHECK(e.file.member == io::kShardFileMember);
  CHECK(e.file.file == "shard_002.h5");
  CHECK(e.file.bytes == std::filesystem::file_size(path));
  CHECK(io::describe_file(io::kShardFileMember, path).crc32 == e.file.crc32);
  REQUIRE(e.locations.size() == 3);
  CHECK(e.locations[1].member == 3);
  CHECK(e.locations[1].group == "member_003");
  io::MemberReader reader(dir.file("gen"));
  for (std::size_t i = 0; i < members.size(); ++i) test::check_same_member(reader.read(e.locations[i]), members[i]);
  // Names only, without tensor data.
  const io::MemberFile names = reader.read(e.locations[0], false);
  CHECK(names.state.size() == members[0].state.size());
  CHECK_FALSE(names.state[0].tensor.defined());
  // A location that names another member's group is refused, naming both.
  io::MemberLocation wrong = e.locations[0];
  wrong.member = 7;
  CHECK_THAT(error_of([&] { reader.read(wrong); }), Catch::Contains("member 7") && Catch::Contains("holds member 1"));
  io::MemberLocation missing{9, "shard_002.h5", "member_009"};
  CHECK_THAT(error_of([&] { reader.read(missing); }), Catch::Contains("member_009") && Catch::Contains("missing"));
}

TEST_CASE("member shard: a format-3 generation commits, verifies and names every member's place", "[io][shard]") {
  test::TempDir dir;
  const std::string out = dir.str();
  const io::GenerationIndex written = write_sharded_generation(out, 2, 8, 3);
  io::verify_generation(out, 2);
  const io::GenerationIndex idx = io::read_index(io::index_file_path(out, 2));
  CHECK(idx.format_version == 3);
  CHECK(idx.files.size() == 3);
  REQUIRE(idx.locations.size() == 8);
  for (const auto& l : idx.locations) {
    CHECK(l.file == io::shard_file_name(1 + l.member % 3));
    CHECK(l.group == io::member_group_name(l.member));
  }
  test::check_same_member(io::read_committed_member(out, 2, 4), make_member(4, 2));
  const auto some = io::read_members(out, idx, {7, 0, 3});
  REQUIRE(some.size() == 3);
  test::check_same_member(some.at(7), make_member(7, 2));
  // The old member-file path names the member too (inspect, export).
  CHECK(io::is_member_in_index(io::member_file_path(out, 2, 5)));
  test::check_same_member(io::read_member_path(io::member_file_path(out, 2, 5)), make_member(5, 2));
  std::ostringstream text;
  io::inspect(io::index_file_path(out, 2), text);
  CHECK_THAT(text.str(), Catch::Contains("8 members in 3 shard files verified") &&
                             Catch::Contains("best member 7 (fitness 0.67), file shard_002.h5, group member_007"));
  std::ostringstream shard;
  io::inspect(io::shard_file_path(out, 2, 1), shard);
  CHECK_THAT(shard.str(), Catch::Contains("written by worker rank 1") && Catch::Contains("3 members"));
}

TEST_CASE("member shard: damage to a shard is named, with its members' generation refused", "[io][shard]") {
  test::TempDir dir;
  const std::string out = dir.str();
  write_sharded_generation(out, 0, 6, 2);
  const std::string shard = io::shard_file_path(out, 0, 2);
  {  // one flipped byte near the end: the CRC catches it
    std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-100, std::ios::end);
    char c = 0;
    f.read(&c, 1);
    f.seekp(-100, std::ios::end);
    c = static_cast<char>(c ^ 0x10);
    f.write(&c, 1);
  }
  CHECK_THAT(error_of([&] { io::verify_generation(out, 0); }),
             Catch::Contains("shard_002.h5 is corrupted") && Catch::Contains("CRC-32"));
  CHECK_THAT(error_of([&] { io::read_committed_member(out, 0, 1); }), Catch::Contains("shard_002.h5"));
  std::filesystem::remove(shard);
  CHECK_THAT(error_of([&] { io::verify_generation(out, 0); }),
             Catch::Contains("shard_002.h5 is missing (a worker's members"));
}

TEST_CASE("member shard: an index that places a member in no listed file does not commit", "[io][shard]") {
  test::TempDir dir;
  const std::string out = dir.str();
  io::GenerationIndex idx = make_index(0, 4);
  std::vector<io::MemberFile> members{make_member(0, 0), make_member(1, 0), make_member(2, 0)};
  const auto e = io::write_member_shard(io::shard_file_path(out, 0, 1), 0, 1, members);
  idx.files.push_back(e.file);
  idx.locations = e.locations;  // member 3 lies nowhere
  CHECK_THAT(error_of([&] { io::commit_generation(out, idx, 0); }), Catch::Contains("lists no file for member 3"));
  CHECK_FALSE(std::filesystem::exists(io::index_file_path(out, 0)));
}

TEST_CASE("member shard: a format-2 run (member files, index without locations) still reads", "[io][shard]") {
  test::TempDir dir;
  const std::string out = dir.str();
  // Written as pbtnas wrote runs before shards: a member file per member, an index of version 2.
  io::GenerationIndex idx = make_index(1, 4);
  for (int i = 0; i < 4; ++i) {
    const std::string path = io::member_file_path(out, 1, i);
    io::write_member_file(path, make_member(i, 1));
    idx.files.push_back(io::describe_file(i, path));
  }
  std::filesystem::create_directories(io::generation_dir(out, 1));
  io::write_index(io::index_file_path(out, 1), idx, 2);
  io::verify_generation(out, 1);
  CHECK(io::resume_generation(out) == std::optional<std::int64_t>(1));
  const io::GenerationIndex back = io::read_index(io::index_file_path(out, 1));
  CHECK(back.format_version == 2);
  CHECK(back.locations.empty());
  const io::MemberLocation l = io::locate_member(back, 2);
  CHECK(l.file == "member_002.h5");
  CHECK(l.group.empty());
  test::check_same_member(io::read_committed_member(out, 1, 2), make_member(2, 1));
  test::check_same_member(io::read_members(out, back, {3}).at(3), make_member(3, 1));
  CHECK_FALSE(io::is_member_in_index(io::member_file_path(out, 1, 2)));  // the file itself
  std::ostringstream text;
  io::inspect(io::index_file_path(out, 1), text);
  CHECK_THAT(text.str(), Catch::Contains("format version 2") && Catch::Contains("4 member files verified") &&
                             Catch::Contains("best member 3 (fitness 0.63), file member_003.h5\n"));
  // Rewritten by this pbtnas (a resumed run commits its next generation), the index is format 3
  // and places the same members in the same member files.
  io::write_index(io::index_file_path(out, 1), back);
  const io::GenerationIndex v3 = io::read_index(io::index_file_path(out, 1));
  CHECK(v3.format_version == 3);
  REQUIRE(v3.locations.size() == 4);
  CHECK(v3.locations[2].file == "member_002.h5");
  CHECK(v3.locations[2].group.empty());
  io::verify_generation(out, 1);
}
