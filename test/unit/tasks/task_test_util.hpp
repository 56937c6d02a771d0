#pragma once
// Helpers of the task tests: temporary directories and IDX files written by the tests.
#include <unistd.h>
#include <catch2/catch.hpp>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "pbtnas/tasks/classify/classify_options.hpp"
#include "pbtnas/core/seed.hpp"
#include "support/temp_dir.hpp"

namespace pbtnas::test {

inline void put_be32(std::vector<unsigned char>& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<unsigned char>(v >> s));
}

// Bytes of an IDX file: magic, dims, payload.
inline std::vector<unsigned char> idx_bytes(std::uint32_t magic,
                                            const std::vector<std::uint32_t>& dims,
                                            const std::vector<unsigned char>& payload) {
  std::vector<unsigned char> out;
  put_be32(out, magic);
  for (auto d : dims) put_be32(out, d);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// Writes bytes plain, or gzipped when the path ends in ".gz".
inline void write_file(const std::string& path, const std::vector<unsigned char>& bytes) {
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0) {
    gzFile f = gzopen(path.c_str(), "wb");
    if (!bytes.empty()) gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  }
}

// Expects `f` to throw std::runtime_error whose message contains every string in `parts`.
template <typename Fn>
inline void require_error(Fn f, const std::vector<std::string>& parts) {
  try {
    f();
    FAIL("expected std::runtime_error");
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    INFO(msg);
    for (const auto& p : parts) CHECK(msg.find(p) != std::string::npos);
  }
}

inline std::vector<unsigned char> read_raw(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// A small, learnable 10-class data set in IDX form (gzipped): class c draws a bright bar in
// row band c of a noisy 12 x 12 image. Returns a ClassifyOptions pointing at it.
inline ClassifyOptions synthetic_classify_config(const TempDir& dir, int n_train, int n_test,
                                                std::uint64_t seed) {
  const int side = 12;
  auto make = [&](const std::string& stem, int n, std::uint64_t s) {
    Rng rng(s);
    std::vector<unsigned char> pixels, labels;
    for (int i = 0; i < n; ++i) {
      const int c = static_cast<int>(rng.below(10));
      labels.push_back(static_cast<unsigned char>(c));
      for (int r = 0; r < side; ++r)
        for (int q = 0; q < side; ++q) {
          int v = static_cast<int>(rng.below(60));
          if (r == c + 1 && q >= 2 && q < side - 2) v += 180;
          pixels.push_back(static_cast<unsigned char>(v));
        }
    }
    const auto un = static_cast<std::uint32_t>(n);
    write_file(dir.file(stem + "-images.gz"), idx_bytes(0x803, {un, side, side}, pixels));
    write_file(dir.file(stem + "-labels.gz"), idx_bytes(0x801, {un}, labels));
  };
  make("train", n_train, seed);
  make("test", n_test, seed + 1);
  ClassifyOptions cfg;
  cfg.data.dir = dir.str();
  cfg.data.train_images = "train-images.gz";
  cfg.data.train_labels = "train-labels.gz";
  cfg.data.test_images = "test-images.gz";
  cfg.data.test_labels = "test-labels.gz";
  cfg.data.val_fraction = 0.2;
  cfg.data.cache_dir = dir.file("cache");  // the shared images stay in the test's folder
  cfg.channels = 4;
  cfg.cells_per_stage = 1;
  cfg.batch_size = 32;
  cfg.eval_batch_size = 64;
  return cfg;
}

inline bool fashion_mnist_present() {
  return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
}

}  // namespace pbtnas::test
