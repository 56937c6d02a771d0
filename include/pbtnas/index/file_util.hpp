#pragma once
// Internal file-system helpers of the checkpoint layer: atomic publication, CRC-32, the root
// `format` check, and generation verification shared by run_dir.cpp and inspect.cpp.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "pbtnas/index/h5_util.hpp"
#include "pbtnas/index/generation_index.hpp"

namespace pbtnas::io::detail {

// Creates the parent directory of `path` (race-safe with other processes doing the same).
void ensure_parent_dir(const std::string& path);
struct FileDigest {
  std::uint64_t bytes = 0;
  std::uint32_t crc32 = 0;
};

// fsync(tmp), rename(tmp, path), fsync(parent directory); with sync false only the rename (the
// caller syncs later, sync_files). Throws h5::Failure.
// `tmp_synced`: the caller has already fsynced tmp.
void publish(const std::string& tmp, const std::string& path, bool sync = true,
             bool tmp_synced = false);
void fsync_dir(const std::filesystem::path& dir);
// fsync of each file, then of each of their directories once. Throws h5::Failure.
void sync_files(const std::vector<std::string>& paths);

// Every checkpoint file starts with an HDF5 user block of kUserBlock bytes (HDF5 and h5py skip
// it) holding one line "pbtnas-checkpoint crc32=0x1234abcd bytes=12238\n": the CRC-32 of
// everything after the user block and the total file size. Readers check it before HDF5 parses
// anything, so a damaged file is reported, never handed to the HDF5 parser (which can crash on
// corrupted heaps).
constexpr std::size_t kUserBlock = 512;
// Writes the header; returns the size and CRC-32 of the whole stamped file (header included, as
// describe_file would compute it, without reading the file again).
FileDigest stamp_checksum(const std::string& path);
// What to do about a damaged checkpoint file, by where it lies (after "; "): a generation's file
// (delete the generation to resume from the previous one), best_ever.h5, soup.h5.
std::string damaged_file_advice(const std::string& path);
// Throws CheckpointError when the file has a pbtnas user block that does not match its content.
// Files without a user block (HDF5 signature at offset 0) are accepted unchecked.
void check_embedded_checksum(const std::string& path);

// Writes `image` to a new file `path` (truncating) with one write, fsynced when `sync` (else
// its write-back is started, not waited for; the caller fsyncs it later).
void write_file_bytes(const std::string& path, const std::vector<char>& image, bool sync);
// Fills the header (the first kUserBlock bytes) of a checkpoint file held in memory; returns
// the digest of the whole file.
FileDigest stamp_image(std::vector<char>& image);

// write_h5_atomic builds a file expected to be at most this large in memory (HDF5's core
// driver) and writes it with one write: far fewer system calls than HDF5's many small writes,
// and the checksum is computed on the way, not by reading the file back. Larger files (RL replay
// buffers) are built on disk in place, so that they are never held in memory twice.
constexpr std::size_t kMemoryBuildLimit = std::size_t{64} << 20;

// Writes an HDF5 file atomically: `body(file_id)` fills the file, which is then closed
// (checked), stamped, written to PATH.tmp and published (synced when `sync`); PATH.tmp is
// removed when anything throws. `expected_bytes` (an estimate of the data to be written; 0 for
// "small") picks where the file is built. Both ways give the same bytes. Returns the digest of
// the whole file.
template <typename Body>
FileDigest write_h5_atomic(const std::string& path, Body&& body, bool sync = true,
                           std::size_t expected_bytes = 0) {
  ensure_parent_dir(path);
  const std::string tmp = path + ".tmp";
  try {
    FileDigest digest;
    if (expected_bytes <= kMemoryBuildLimit) {
      // Grown in steps of the estimate plus room for the metadata, so usually allocated once.
      const std::size_t step = ((expected_bytes >> 16) + 2) << 16;
      std::vector<char> image;
      {
        h5::Handle file = h5::create_memory_file(tmp, kUserBlock, step);
        body(file.get());
        image = h5::file_image(file, kUserBlock);
        file.close("cannot finish the file in memory");
      }
      digest = stamp_image(image);
      write_file_bytes(tmp, image, sync);
      publish(tmp, path, sync, /*tmp_synced=*/true);
    } else {
      h5::Handle file = h5::create_file(tmp, kUserBlock);
      body(file.get());
      file.close("cannot finish writing the file (disk full?)");
      digest = stamp_checksum(tmp);
      publish(tmp, path, sync);
    }
    return digest;
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

// Opens `path` for reading, requiring a root `format` attribute ("pbtnas-member",
// "pbtnas-index") equal to `expected` (any when empty; stored in *format when given) and a
// supported format_version. Throws CheckpointError naming the file, what is wrong, what to do.
// check_crc false skips the checksum header's CRC (for a file whose CRC its writer has just
// reported, e.g. rank 0 copying the best-ever member out of a fresh shard).
h5::Handle open_checkpoint(const std::string& path, const std::string& expected,
                           std::string* format = nullptr, bool check_crc = true);

// Size and CRC-32 of the bytes from `offset` to the end. Throws CheckpointError.
FileDigest digest_file(const std::string& path, std::uint64_t offset = 0);

// Throws CheckpointError unless `index` (read from DIR/index.h5) names generation `gen`, has a
// file entry for every member, and every file exists with its recorded size (and CRC-32 when
// check_crc).
void verify_files(const std::string& dir, std::int64_t gen, const GenerationIndex& index,
                  bool check_crc);

// "gen_000003" -> 3; -1 when `name` is not a generation directory name.
std::int64_t parse_generation_dir_name(const std::string& name);

}  // namespace pbtnas::io::detail
