#pragma once
// Reader for the IDX format of (Fashion-)MNIST (http://yann.lecun.com/exdb/mnist/): a 4-byte
// big-endian magic number 0x0000TTDD (TT = 0x08: unsigned bytes, DD = number of dimensions),
// DD big-endian uint32 sizes, then the payload in row-major order. Files may be gzipped
// (".gz", read through zlib) or plain; zlib reads both transparently.
//
// Every failure throws std::runtime_error naming the file, the problem and the fix.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace pbtnas {

inline constexpr std::uint32_t kIdxImagesMagic = 0x00000803;  // uint8, N x rows x cols
inline constexpr std::uint32_t kIdxLabelsMagic = 0x00000801;  // uint8, N

struct IdxArray {
  std::string path;  // the file it came from
  std::uint32_t magic = 0;
  std::vector<std::int64_t> dims;  // as stored in the header (dims[0] = record count N)
  torch::Tensor data;              // uint8, shape {K, dims[1..]} with K = min(N, limit) or N
};

// Reads an IDX file whose magic number must equal `expected_magic` (kIdxImagesMagic or
// kIdxLabelsMagic). limit > 0: read only the first `limit` records. The payload actually read
// must be complete (a truncated file throws).
// payload false: the header only (`data` undefined; the shape it would have is
// {K, dims[1..]}), e.g. when the node's cache already holds what the payload would become.
IdxArray read_idx(const std::string& path, std::uint32_t expected_magic, std::int64_t limit = 0,
                  bool payload = true);

struct IdxImages {
  torch::Tensor images;              // uint8, N x rows x cols (undefined when pixels were not read)
  torch::Tensor labels;              // uint8, N
  std::vector<std::int64_t> shape;   // the images' shape, N x rows x cols (also without pixels)
};

// Reads a matching images/labels pair and checks that they hold the same number of records
// (in the headers, so that a mismatch is caught even when `limit` hides it). pixels false reads
// the images' header only (`images` undefined; decompressing the pixels is most of a
// Fashion-MNIST rank's start-up, docs/performance.md "Start-up").
IdxImages read_idx_images(const std::string& images_path, const std::string& labels_path,
                          std::int64_t limit = 0, bool pixels = true);

}  // namespace pbtnas
