#pragma once
// Reader for the STL-10 binary files (stl10_binary.tar.gz from
// https://cs.stanford.edu/~acoates/stl10/, extracted to a folder stl10_binary/): train_X.bin
// (5,000 labelled images), unlabeled_X.bin (100,000), test_X.bin (8,000) and the label files
// train_y.bin / test_y.bin (one byte per image, classes 1..10). An image file is a plain
// sequence of 27,648-byte images (no header): 3 channel planes (R, G, B) of 96 x 96 bytes, each
// plane stored COLUMN-major, i.e. byte x * 96 + y of a plane is the pixel at row y, column x.
// The reader transposes the planes, so every image it returns is C x H x W (row-major).
//
// The GAN search uses the split "train+unlabeled" (train_X.bin, then unlabeled_X.bin: 105,000
// images, the order of torchvision's STL10) resized 96 -> 48 (docs/gan.md, "STL-10").
//
// Every failure throws std::runtime_error naming the file, the problem and the fix.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace pbtnas {

inline constexpr std::int64_t kStl10Side = 96;
inline constexpr std::int64_t kStl10Channels = 3;
inline constexpr std::int64_t kStl10Classes = 10;
inline constexpr std::int64_t kStl10ImageBytes = kStl10Channels * kStl10Side * kStl10Side;  // 27648

// dir/train_X.bin and dir/unlabeled_X.bin, in the order of the split "train+unlabeled".
std::vector<std::string> stl10_train_unlabeled_paths(const std::string& dir);
// dir/train_y.bin, the labels of train_X.bin.
std::string stl10_train_labels_path(const std::string& dir);

// How many images read_stl10_images(paths, limit) returns, from the file sizes alone (nothing is
// read). Checks what read_stl10_images checks before reading: the folder of the first file,
// every file the limit needs exists, is a regular file, is non-empty and its size is a multiple
// of 27,648 bytes.
std::int64_t count_stl10_images(const std::vector<std::string>& paths, std::int64_t limit = 0);

// The images of `paths` in order, uint8 N x 3 x 96 x 96 (H x W). limit > 0: stop after `limit`
// images; files after the one that completes the limit are neither opened nor checked.
torch::Tensor read_stl10_images(const std::vector<std::string>& paths, std::int64_t limit = 0);

// The labels of a label file (train_y.bin, test_y.bin) as uint8 0..9 (the file's 1..10 minus 1,
// as torchvision). limit > 0: the first `limit` labels, and the file must hold at least that
// many. A value outside 1..10 is an error naming its position.
torch::Tensor read_stl10_labels(const std::string& path, std::int64_t limit = 0);

// Pillow's Image.resize(..., BILINEAR) of 8-bit images, which torchvision's Resize applies to the
// PIL images of its STL10 data set: a separable triangle filter whose support grows with the
// reduction factor (antialiasing), coefficients in 22-bit fixed point, horizontal pass then
// vertical pass, each rounded to uint8. Reproduces Pillow's bytes exactly (docs/gan.md, "STL-10").
// images: uint8 N x C x H x W (contiguous or not); returns uint8 N x C x out_h x out_w.
torch::Tensor resize_bilinear_like_pil(const torch::Tensor& images, std::int64_t out_h, std::int64_t out_w);

// read_stl10_images followed by resize_bilinear_like_pil to side x side and u / 127.5 - 1: float
// N x 3 x side x side in [-1, 1]. Reads and resizes a few thousand images at a time, so the
// 96 x 96 originals are never all in memory.
torch::Tensor read_stl10_scaled(const std::vector<std::string>& paths, std::int64_t side, std::int64_t limit = 0);

}  // namespace pbtnas
