#pragma once
// Reader for the "CIFAR-10 binary version" (cifar-10-binary.tar.gz from
// https://www.cs.toronto.edu/~kriz/cifar.html, extracted to a folder cifar-10-batches-bin/):
// data_batch_1.bin .. data_batch_5.bin (training set, 10,000 records each) and test_batch.bin.
// Each record is 3073 bytes: one label byte (0..9), then the 32 x 32 red, green and blue planes
// (1024 bytes each, row-major). The python and matlab versions of the data set are different
// formats and are recognised only to say so.
//
// Every failure throws std::runtime_error naming the file, the problem and the fix.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace pbtnas {

inline constexpr std::int64_t kCifar10Side = 32;
inline constexpr std::int64_t kCifar10Channels = 3;
inline constexpr std::int64_t kCifar10Classes = 10;
inline constexpr std::int64_t kCifar10RecordBytes =
    1 + kCifar10Channels * kCifar10Side * kCifar10Side;  // 3073: label, R, G, B
inline constexpr int kCifar10TrainFiles = 5;

struct Cifar10Data {
  torch::Tensor images;  // uint8, N x 3 x 32 x 32 (channel planes R, G, B)
  torch::Tensor labels;  // uint8, N, values 0..9
};

// Reads the records of `paths` in order. limit > 0: stop after `limit` records; files after the
// one that completes the limit are not opened (nor checked). Every file read must be non-empty
// and a whole number of 3073-byte records, and every label read must be <= 9.
Cifar10Data read_cifar10_files(const std::vector<std::string>& paths, std::int64_t limit = 0);

// The training set: dir/data_batch_1.bin .. data_batch_5.bin (only as many files as `limit`
// needs). A missing folder or file names what was found instead (the python or matlab version,
// the unextracted archive, the parent of cifar-10-batches-bin).
Cifar10Data read_cifar10_train(const std::string& dir, std::int64_t limit = 0);

// The test set: dir/test_batch.bin.
Cifar10Data read_cifar10_test(const std::string& dir, std::int64_t limit = 0);

// dir/data_batch_1.bin .. dir/data_batch_5.bin.
std::vector<std::string> cifar10_train_paths(const std::string& dir);

}  // namespace pbtnas
