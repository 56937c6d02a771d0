#pragma once
// A typed n-dimensional array as a data file holds it (an HDF5 dataset, a NumPy .npy array),
// before any tensor library sees it: the data readers of the tasks turn it into tensors. Torch-
// and HDF5-free, so that readers in different layers can hand arrays to each other.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pbtnas {

enum class ElementType { U8, I8, U16, I16, U32, I32, U64, I64, F32, F64 };

std::size_t element_size(ElementType t);
bool is_integer(ElementType t);
const char* element_name(ElementType t);  // "uint8", "float32", ...

struct RawArray {
  std::string origin;               // "FILE" or "FILE:NAME", for messages
  ElementType type = ElementType::U8;
  std::vector<std::int64_t> shape;  // shape[0] = rows actually held (after a limit)
  std::vector<unsigned char> bytes; // row-major, native byte order
  std::int64_t stored_rows = 0;     // rows in the file (before a limit)
};

// Reads the first `limit` rows (limit <= 0: all) of array `name` in file `path`. Throws
// std::runtime_error naming the file, the problem and the fix.
using ArrayFileReader = RawArray (*)(const std::string& path, const std::string& name, std::int64_t limit);

// The HDF5 dataset reader. It lives with the HDF5 code (io/h5_array.hpp) and is installed by the
// executable at start-up (install_hdf5_array_reader), so that the tasks read HDF5 data sets
// without including HDF5. hdf5_array_reader() is null until then.
void set_hdf5_array_reader(ArrayFileReader reader);
ArrayFileReader hdf5_array_reader();

}  // namespace pbtnas
