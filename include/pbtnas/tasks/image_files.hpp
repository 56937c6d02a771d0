#pragma once
// Readers of image data sets in the formats Python tools write (docs/tasks.md, "Data formats"):
// NumPy .npy arrays and .npz archives, and image folders root/CLASS/*.png|jpg (decoded with
// Debian's stb_image). HDF5 arrays come through util/raw_array.hpp (hdf5_array_reader), read by
// the HDF5 layer. Every failure throws std::runtime_error naming the file, the problem and the fix.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "pbtnas/util/raw_array.hpp"

namespace pbtnas {

// A .npy file (format versions 1 to 3; little- or big-endian integers and floats, C order).
// limit > 0: only the first `limit` rows are read.
RawArray read_npy(const std::string& path, std::int64_t limit = 0);
// The array `name` of a .npz archive (np.savez or np.savez_compressed: the member name.npy).
RawArray read_npz(const std::string& path, const std::string& name, std::int64_t limit = 0);
// The bytes of a .npy file (`origin` names it in messages).
RawArray parse_npy(const std::vector<unsigned char>& bytes, const std::string& origin, std::int64_t limit = 0);

// Images as a tensor N x C x H x W: uint8 for uint8 arrays, float32 for every other type.
// 3-D arrays are N x H x W (one channel); 4-D arrays are N x H x W x C or N x C x H x W, by
// `layout` ("nhwc", "nchw", or "auto": the channel axis is the one of size <= 4 where the other
// candidate is larger).
torch::Tensor images_from_array(const RawArray& a, const std::string& layout);
// Integer labels (shape N or N x 1) as int64; negative labels throw.
torch::Tensor labels_from_array(const RawArray& a);

struct ImageFolderSet {
  torch::Tensor images;                  // uint8, N x C x H x W
  torch::Tensor labels;                  // int64, N (indices into class_names)
  std::vector<std::string> class_names;  // sorted folder names
  std::vector<std::string> files;        // the image files read, in order
};

// root/CLASS/*.png|jpg|jpeg (case-insensitive extensions; hidden entries and other files are
// ignored). Classes are the sub-folders sorted by name; with `classes` given (the training set's),
// every sub-folder must be one of them and labels index that list. All images must have one size;
// the channel count is the largest among the files (grey images are repeated to RGB by stb).
// limit > 0: the first `limit` images taken round-robin over the classes (file names sorted).
ImageFolderSet read_image_folder(const std::string& root, std::int64_t limit = 0,
                                 const std::vector<std::string>* classes = nullptr);

}  // namespace pbtnas
