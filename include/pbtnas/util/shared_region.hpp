#pragma once
// A region of memory that the processes of one node share: a file in node scratch
// (files.hpp, node_scratch_dir) mapped with MAP_SHARED. The creator sizes it (a sparse file: pages
// cost memory only once written) and maps it read-write; the other processes of the node open it
// by name and map it read-only. Once every process has mapped it, the creator removes the name
// (unlink): the memory lives on until the last mapping goes, so a crash leaves no file behind
// after that point. Torch-free.
#include <cstddef>
#include <memory>
#include <string>

namespace pbtnas {

class SharedRegion {
 public:
  // Creates `path` (its folder too) of `bytes` bytes, zero-filled, mapped read-write. Throws
  // std::runtime_error naming the file and the reason (no space, no permission, name taken).
  static std::shared_ptr<SharedRegion> create(const std::string& path, std::size_t bytes);
  // Maps the existing `path` read-only; it must hold `bytes` bytes. Throws std::runtime_error.
  static std::shared_ptr<SharedRegion> open(const std::string& path, std::size_t bytes);
  ~SharedRegion();
  SharedRegion(const SharedRegion&) = delete;
  SharedRegion& operator=(const SharedRegion&) = delete;

  unsigned char* data() const { return data_; }
  std::size_t size() const { return bytes_; }
  bool writable() const { return writable_; }
  const std::string& path() const { return path_; }
  // Removes the name (creator only; the mapping stays valid). Also done by the creator's destructor.
  void unlink();

 private:
  SharedRegion(std::string path, unsigned char* data, std::size_t bytes, bool writable);
  std::string path_;
  unsigned char* data_ = nullptr;
  std::size_t bytes_ = 0;
  bool writable_ = false;
  bool linked_ = false;  // the creator has not removed the name yet
};

// Removes the files in `dir` whose names start with `prefix` (left by a process that crashed
// between creating a region and unlinking it); returns how many. Missing folder: 0.
int remove_stale_regions(const std::string& dir, const std::string& prefix);

}  // namespace pbtnas
