#pragma once
// Image grids of generated samples, saved as PNG by a small self-contained encoder (zlib for the
// deflate stream and the chunk CRCs; no image library).
//
// Every failure throws std::runtime_error naming the file (where there is one) and the problem.
#include <cstdint>
#include <string>

#include <torch/torch.h>

namespace pbtnas {

// Writes an 8-bit PNG: channels 1 (grayscale, color type 0) or 3 (RGB, color type 2); `pixels`
// holds height x width x channels bytes, row-major, interleaved. Non-interlaced, filter type 0
// (None) on every row, the zlib stream split over IDAT chunks of at most 256 KiB.
// The file is written to `path + ".tmp"` and renamed onto `path` (readers never see a partial
// file); missing parent directories are created.
void write_png(const std::string& path, int width, int height, int channels,
               const std::uint8_t* pixels);

// Tiles N x C x H x W floating-point images with values in [-1, 1] (any device; C = 1 or 3) into
// one image, like torchvision.utils.make_grid(images, nrow, padding, normalize=True,
// value_range=(-1, 1), pad_value=0): min(nrow, N) images per row, ceil(N / nrow) rows,
// `padding` black (0) pixels between the images and around the border, so the result is
// (rows * (H + padding) + padding) x (cols * (W + padding) + padding).
// Values map to bytes as round(clamp((x + 1) * 127.5, 0, 255)) (halves round up); NaN and
// +-infinity become 0. Unlike torchvision, one channel stays one channel.
// Returns a contiguous CPU uint8 tensor of shape H' x W' x C.
torch::Tensor make_image_grid(const torch::Tensor& images, int nrow, int padding = 2);

// make_image_grid(images, nrow) written to `path` with write_png.
void save_image_grid(const torch::Tensor& images, int nrow, const std::string& path);

}  // namespace pbtnas
