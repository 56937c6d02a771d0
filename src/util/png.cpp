#include "pbtnas/util/png.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace pbtnas {
namespace {

constexpr std::size_t kIdatChunkBytes = std::size_t{1} << 18;  // 256 KiB per IDAT chunk
constexpr std::int64_t kMaxRawBytes = std::int64_t{1} << 31;   // 2 GiB of filtered rows

void put_be32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>(static_cast<unsigned char>(v >> s)));
}

// Appends one chunk: length, type, data, CRC-32 of type and data.
void put_chunk(std::string& out, const char type[5], const unsigned char* data, std::size_t n) {
  put_be32(out, static_cast<std::uint32_t>(n));
  const std::size_t type_at = out.size();
  out.append(type, 4);
  if (n > 0) out.append(reinterpret_cast<const char*>(data), n);
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(out.data() + type_at), static_cast<uInt>(4 + n));
  put_be32(out, static_cast<std::uint32_t>(crc));
}

}  // namespace

std::string encode_png(int width, int height, int channels, const std::uint8_t* pixels) {
  if (width <= 0 || height <= 0)
    throw std::invalid_argument("bad image size " + std::to_string(width) + " x " + std::to_string(height) +
                                " (width and height must be >= 1)");
  if (channels != 1 && channels != 3)
    throw std::invalid_argument("bad channel count " + std::to_string(channels) +
                                " (1 = grayscale or 3 = RGB supported)");
  const std::int64_t row_bytes = std::int64_t{width} * channels;
  if (row_bytes + 1 > kMaxRawBytes / height)
    throw std::invalid_argument("image too large (" + std::to_string(width) + " x " + std::to_string(height) +
                                " x " + std::to_string(channels) + "; at most 2 GiB of pixel data)");
  if (!pixels) throw std::invalid_argument("no pixel data (null pointer)");

  // Filtered scanlines: filter type 0 (None), then the row's bytes.
  std::vector<unsigned char> raw(static_cast<std::size_t>((row_bytes + 1) * height));
  for (std::int64_t y = 0; y < height; ++y) {
    unsigned char* dst = raw.data() + y * (row_bytes + 1);
    dst[0] = 0;
    std::memcpy(dst + 1, pixels + y * row_bytes, static_cast<std::size_t>(row_bytes));
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<unsigned char> packed(packed_size);
  const int zrc = compress2(packed.data(), &packed_size, raw.data(), static_cast<uLong>(raw.size()),
                            Z_DEFAULT_COMPRESSION);
  if (zrc != Z_OK) throw std::runtime_error("zlib compression failed (code " + std::to_string(zrc) + ")");
  packed.resize(packed_size);
  raw = {};

  std::string png("\x89PNG\r\n\x1a\n", 8);
  png.reserve(packed.size() + packed.size() / kIdatChunkBytes * 12 + 64);
  std::string ihdr;
  put_be32(ihdr, static_cast<std::uint32_t>(width));
  put_be32(ihdr, static_cast<std::uint32_t>(height));
  const unsigned char rest[5] = {8,                                                  // bit depth
                                 static_cast<unsigned char>(channels == 1 ? 0 : 2),  // grey / truecolour
                                 0, 0, 0};  // deflate, filter method 0, no interlace
  ihdr.append(reinterpret_cast<const char*>(rest), 5);
  put_chunk(png, "IHDR", reinterpret_cast<const unsigned char*>(ihdr.data()), ihdr.size());
  for (std::size_t at = 0; at < packed.size(); at += kIdatChunkBytes)
    put_chunk(png, "IDAT", packed.data() + at, std::min(kIdatChunkBytes, packed.size() - at));
  put_chunk(png, "IEND", nullptr, 0);
  return png;
}

}  // namespace pbtnas
