#include "pbtnas/tasks/cifar10.hpp"
#include "pbtnas/util/paths.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace pbtnas {
namespace {

constexpr std::int64_t kPlaneBytes = kCifar10Side * kCifar10Side;       // 1024
constexpr std::int64_t kImageBytes = kCifar10Channels * kPlaneBytes;    // 3072
constexpr std::int64_t kCifar100RecordBytes = kCifar10RecordBytes + 1;  // coarse + fine label
constexpr std::int64_t kReadRecords = 4096;                             // records per fread

const char* kDataHint =
    "Download the CIFAR-10 *binary* version (cifar-10-binary.tar.gz from "
    "https://www.cs.toronto.edu/~kriz/cifar.html; not the python or matlab version), extract it "
    "(tar xzf cifar-10-binary.tar.gz) and set `gan.data_dir` in the config to the extracted "
    "cifar-10-batches-bin folder";

[[noreturn]] void fail(const std::string& path, const std::string& problem,
                       const std::string& fix) {
  throw std::runtime_error("CIFAR-10 reader: " + path + ": " + problem + ". " + fix);
}

// What a folder holds instead of the binary version, as a sentence ("" when nothing known).
std::string diagnose_dir(const std::string& dir) {
  if (is_regular_file(join_path(dir, "data_batch_1")) || is_regular_file(join_path(dir, "batches.meta")))
    return " The folder holds the *python* (pickle) version of CIFAR-10 (data_batch_1 without "
           ".bin); this reader needs the binary version.";
  if (is_regular_file(join_path(dir, "data_batch_1.mat")))
    return " The folder holds the *matlab* version of CIFAR-10 (data_batch_1.mat); this reader "
           "needs the binary version.";
  if (is_directory(join_path(dir, "cifar-10-batches-bin")))
    return " It has a cifar-10-batches-bin subfolder: set `gan.data_dir` to " +
           join_path(dir, "cifar-10-batches-bin") + ".";
  if (is_directory(join_path(dir, "cifar-10-batches-py")))
    return " It has a cifar-10-batches-py subfolder: that is the python version; this reader "
           "needs the binary version (cifar-10-batches-bin).";
  if (is_regular_file(join_path(dir, "cifar-10-binary.tar.gz")))
    return " It holds cifar-10-binary.tar.gz: extract it first (tar xzf cifar-10-binary.tar.gz).";
  return "";
}

// The format a wrongly sized file looks like, from its first bytes (or "").
std::string sniff_format(std::FILE* f) {
  unsigned char head[8] = {};
  const std::size_t got = std::fread(head, 1, sizeof head, f);
  std::rewind(f);
  if (got >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5)
    return "it looks like the *python* (pickle) version of CIFAR-10";
  if (got >= 6 && std::memcmp(head, "MATLAB", 6) == 0)
    return "it looks like the *matlab* version of CIFAR-10";
  if (got >= 2 && head[0] == 0x1F && head[1] == 0x8B)
    return "it is gzip-compressed (an archive, not an extracted batch file)";
  return "";
}

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};
using FileHandle = std::unique_ptr<std::FILE, FileCloser>;

struct Plan {
  std::string path;
  std::int64_t records = 0;  // how many to read from it
};

Cifar10Data read_files(const std::vector<std::string>& paths, std::int64_t limit,
                       const std::string& missing_hint) {
  if (paths.empty())
    throw std::runtime_error("CIFAR-10 reader: no files given. " + std::string(kDataHint));
  // Pass 1: sizes of the files the limit needs, checked before anything is read.
  std::vector<Plan> plan;
  std::int64_t total = 0;
  for (const auto& path : paths) {
    if (limit > 0 && total >= limit) break;
    struct stat st {};
    const bool found = ::stat(path.c_str(), &st) == 0;
    if (!found || !S_ISREG(st.st_mode)) {
      const std::string problem = found && S_ISDIR(st.st_mode)
                                      ? "is a directory, expected a CIFAR-10 batch file"
                                      : "file not found (or not a regular file)";
      std::string fix = kDataHint;
      fix += missing_hint.empty() ? diagnose_dir(parent_dir(path)) : missing_hint;
      fail(path, problem, fix);
    }
    const std::int64_t size = st.st_size;
    if (size == 0)
      fail(path, "the file is empty", "Re-download and extract cifar-10-binary.tar.gz");
    if (size % kCifar10RecordBytes != 0) {
      std::string why = "size " + std::to_string(size) + " bytes is not a multiple of the " +
                        std::to_string(kCifar10RecordBytes) +
                        "-byte record (truncated or not the CIFAR-10 binary format";
      FileHandle f(std::fopen(path.c_str(), "rb"));
      const std::string format = f ? sniff_format(f.get()) : "";
      if (!format.empty())
        why += "; " + format;
      else if (size % kCifar100RecordBytes == 0)
        why += "; a whole number of 3074-byte records: is it CIFAR-100 (two label bytes)?";
      if (format.empty() && is_regular_file(join_path(parent_dir(path), "data_batch_1")))
        why += "; data_batch_1 without .bin next to it suggests the python version";
      why += ")";
      fail(path, why, kDataHint);
    }
    const std::int64_t in_file = size / kCifar10RecordBytes;
    const std::int64_t take = limit > 0 ? std::min(in_file, limit - total) : in_file;
    plan.push_back({path, take});
    total += take;
  }

  // Pass 2: the records, label byte then the R, G, B planes (already N x 3 x 32 x 32 order).
  Cifar10Data out;
  out.images = torch::empty({total, kCifar10Channels, kCifar10Side, kCifar10Side}, torch::kUInt8);
  out.labels = torch::empty({total}, torch::kUInt8);
  std::uint8_t* images = out.images.data_ptr<std::uint8_t>();
  std::uint8_t* labels = out.labels.data_ptr<std::uint8_t>();
  std::vector<unsigned char> buf(static_cast<std::size_t>(kReadRecords * kCifar10RecordBytes));
  std::int64_t next = 0;
  for (const auto& p : plan) {
    FileHandle f(std::fopen(p.path.c_str(), "rb"));
    if (!f)
      fail(p.path, std::string("cannot open the file for reading (") + std::strerror(errno) + ")",
           "Check its permissions");
    for (std::int64_t done = 0; done < p.records;) {
      const std::int64_t n = std::min(kReadRecords, p.records - done);
      const std::size_t want = static_cast<std::size_t>(n * kCifar10RecordBytes);
      const std::size_t got = std::fread(buf.data(), 1, want, f.get());
      if (got != want)
        fail(p.path,
             std::ferror(f.get()) ? std::string("read error (") + std::strerror(errno) + ")"
                                  : "truncated while reading (the file shrank?)",
             "Re-download and extract cifar-10-binary.tar.gz");
      for (std::int64_t r = 0; r < n; ++r) {
        const unsigned char* rec = buf.data() + r * kCifar10RecordBytes;
        if (rec[0] >= kCifar10Classes) {
          const std::int64_t index = done + r;
          fail(p.path,
               "bad label " + std::to_string(rec[0]) + " in record " + std::to_string(index) +
                   " (byte offset " + std::to_string(index * kCifar10RecordBytes) +
                   "), expected 0..9",
               "The file is corrupt or not a CIFAR-10 binary batch; re-download and extract "
               "cifar-10-binary.tar.gz");
        }
        labels[next] = rec[0];
        std::memcpy(images + next * kImageBytes, rec + 1, static_cast<std::size_t>(kImageBytes));
        ++next;
      }
      done += n;
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> cifar10_train_paths(const std::string& dir) {
  std::vector<std::string> paths;
  for (int i = 1; i <= kCifar10TrainFiles; ++i)
    paths.push_back(join_path(dir, "data_batch_" + std::to_string(i) + ".bin"));
  return paths;
}

Cifar10Data read_cifar10_files(const std::vector<std::string>& paths, std::int64_t limit) {
  return read_files(paths, limit, "");
}

namespace {

void require_dir(const std::string& dir) {
  if (dir.empty()) fail("(empty gan.data_dir)", "no CIFAR-10 folder given", kDataHint);
  if (!is_directory(dir)) {
    std::string fix = kDataHint;
    if (is_regular_file(dir)) fix += " (" + dir + " is a file, not a folder.)";
    fail(dir, "CIFAR-10 folder not found", fix);
  }
}

}  // namespace

Cifar10Data read_cifar10_train(const std::string& dir, std::int64_t limit) {
  require_dir(dir);
  return read_files(cifar10_train_paths(dir), limit, diagnose_dir(dir));
}

Cifar10Data read_cifar10_test(const std::string& dir, std::int64_t limit) {
  require_dir(dir);
  return read_files({join_path(dir, "test_batch.bin")}, limit, diagnose_dir(dir));
}

}  // namespace pbtnas
