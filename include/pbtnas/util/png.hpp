#pragma once
// The PNG encoder of pbtnas's pictures (GAN sample grids, the report's figures). Torch-free.
#include <cstdint>
#include <string>

namespace pbtnas {

// The bytes of an 8-bit PNG of `width` x `height` pixels with `channels` 1 (grey) or 3 (RGB):
// `pixels` holds the rows top to bottom, each width * channels bytes, without gaps. Every row is
// stored unfiltered, deflated by zlib at its default level, in IDAT chunks of 256 KiB.
// Throws std::invalid_argument for a bad size or channel count, more than 2 GiB of pixel data or
// null pixels, std::runtime_error when zlib fails; the message says the problem, not a file name.
std::string encode_png(int width, int height, int channels, const std::uint8_t* pixels);

}  // namespace pbtnas
