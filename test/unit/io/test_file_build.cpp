// How checkpoint files are built (src/io/file_util.hpp): small files in memory and written with
// one write, large ones on disk in place; both must give the same bytes, and a failed build must
// leave nothing behind.
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "pbtnas/index/file_util.hpp"
#include "pbtnas/index/h5_util.hpp"
#include "unit/io/io_fixtures.hpp"

using namespace pbtnas;
using pbtnas::test::TempDir;
namespace h5 = pbtnas::io::h5;
namespace iod = pbtnas::io::detail;

namespace {

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Attributes, a group and datasets: the kinds of objects member and index files hold.
void fill(hid_t file, std::size_t n) {
  h5::write_attr_string(file, "format", io::kMemberFormat);
  h5::write_attr_int64(file, "format_version", io::kMemberFormatVersion);
  std::vector<double> values(n);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = 0.5 * static_cast<double>(i);
  h5::write_vector(file, "values", values);
  h5::Handle group = h5::create_group(file, "evaluation");
  h5::write_strings(group, "names", {"fid", "accuracy"});
}

}  // namespace

TEST_CASE("a checkpoint file built in memory has the bytes of one built on disk", "[io][member]") {
  TempDir tmp;
  // Small (one growth step of the in-memory buffer), and larger than several steps.
  for (std::size_t n : {std::size_t{3000}, std::size_t{100000}}) {
    INFO("values: " << n);
    const std::string mem = tmp / ("memory_" + std::to_string(n) + ".h5");
    const std::string disk = tmp / ("disk_" + std::to_string(n) + ".h5");
    auto body = [n](hid_t file) { fill(file, n); };
    const iod::FileDigest dm = iod::write_h5_atomic(mem, body, true, 0);
    const iod::FileDigest dd = iod::write_h5_atomic(disk, body, true, iod::kMemoryBuildLimit + 1);
    const std::string a = bytes_of(mem), b = bytes_of(disk);
    REQUIRE(a.size() == b.size());
    CHECK(a == b);  // HDF5's image of an open file needs its superblock checksum repaired
    CHECK(dm.bytes == a.size());
    CHECK(dm.crc32 == dd.crc32);
    const iod::FileDigest whole = iod::digest_file(mem);
    CHECK(dm.bytes == whole.bytes);
    CHECK(dm.crc32 == whole.crc32);
    // It passes the checksum check and opens as HDF5 with its content.
    h5::Handle f = iod::open_checkpoint(mem, io::kMemberFormat);
    CHECK(h5::read_vector<double>(f, "values").at(n - 1) == 0.5 * static_cast<double>(n - 1));
    CHECK_FALSE(std::filesystem::exists(mem + ".tmp"));
  }
}

TEST_CASE("a file whose build fails leaves neither the file nor its temporary behind", "[io][member]") {
  TempDir tmp;
  for (std::size_t expected : {std::size_t{0}, iod::kMemoryBuildLimit + 1}) {
    INFO("expected bytes: " << expected);
    const std::string path = tmp / ("failed_" + std::to_string(expected) + ".h5");
    CHECK_THROWS_WITH(iod::write_h5_atomic(path, [](hid_t file) {
                        fill(file, 10);
                        throw std::runtime_error("body failed");
                      }, true, expected),
                      "body failed");
    CHECK_FALSE(std::filesystem::exists(path));
    CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
    // Failing after PATH.tmp is complete: PATH is a non-empty directory, so the rename fails.
    const std::string blocked = tmp / ("blocked_" + std::to_string(expected) + ".h5");
    std::filesystem::create_directories(blocked + "/inside");
    CHECK_THROWS_AS(iod::write_h5_atomic(blocked, [](hid_t file) { fill(file, 10); }, true, expected),
                    h5::Failure);
    CHECK_FALSE(std::filesystem::exists(blocked + ".tmp"));
    CHECK(std::filesystem::is_directory(blocked + "/inside"));  // nothing of the caller's lost
  }
}
