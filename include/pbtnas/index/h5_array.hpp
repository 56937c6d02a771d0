#pragma once
// Reading one numeric dataset of an HDF5 file into a RawArray (torch-free): the HDF5 side of the
// classification task's `format: hdf5` (docs/tasks.md). The tasks do not include HDF5; the
// executable installs this reader through set_hdf5_array_reader (util/raw_array.hpp).
#include <cstdint>
#include <string>

#include "pbtnas/util/raw_array.hpp"

namespace pbtnas::io {

// Dataset `name` of `path` (integer or floating point, any rank >= 1); limit > 0 reads only the
// first `limit` rows. Throws std::runtime_error naming the file, the dataset and the fix (missing
// file, not HDF5, missing dataset: the message lists the datasets at the file's root).
RawArray read_h5_array(const std::string& path, const std::string& name, std::int64_t limit);

// set_hdf5_array_reader(&read_h5_array).
void install_hdf5_array_reader();

}  // namespace pbtnas::io
