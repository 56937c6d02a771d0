#pragma once
// Internal helpers over the HDF5 C API: RAII handles, attributes and 1-D datasets. Failures throw
// h5::Failure with the innermost HDF5 error description appended; the public checkpoint functions
// rewrap it as CheckpointError with the file name and advice.
#include <hdf5.h>

#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace pbtnas::io::h5 {

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Debian's HDF5 is built without thread safety: every public checkpoint function holds this
// (recursive) lock while it uses HDF5, so threads of one process may call them concurrently.
std::recursive_mutex& library_mutex();
using Lock = std::lock_guard<std::recursive_mutex>;

// Switches off HDF5's automatic error printing (idempotent; call at every entry point).
void silence_errors();
// Throws Failure(what + ": " + innermost HDF5 error description) and clears the error stack.
[[noreturn]] void fail(const std::string& what);
inline void check(herr_t status, const std::string& what) {
  if (status < 0) fail(what);
}

class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer, const std::string& what);  // id < 0 => fail(what)
  ~Handle();
  Handle(Handle&& other) noexcept;
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }  // NOLINT: handles pass straight to the C API
  void close(const std::string& what);    // checked close (needed for files being written)

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

// Files: read-only open / truncating create, with file locking off (single writer by design,
// and flock fails on some cluster file systems) and no object timestamps (same content, same
// bytes). create_file reserves a user block of `userblock` bytes (0 or a power of 2 >= 512).
Handle open_file_read(const std::string& path);
Handle create_file(const std::string& path, hsize_t userblock);
// The same, but the file lives in memory only (HDF5's core driver, no backing store); `name`
// identifies it while open. Its bytes are taken with file_image; `increment` is the growth step.
Handle create_memory_file(const std::string& name, hsize_t userblock, std::size_t increment);
// Flushes an open file and returns its image after `front` zero bytes. The image is what a file
// on disk holds after its user block (HDF5 leaves the user block out of it), so with `front`
// equal to the user block's size the result is the whole file, user block still blank.
std::vector<char> file_image(hid_t file, std::size_t front);

bool link_exists(hid_t loc, const std::string& name);
Handle open_group(hid_t loc, const std::string& name);
Handle create_group(hid_t loc, const std::string& name);
Handle open_dataset(hid_t loc, const std::string& name);
// Dataset creation property list without timestamps.
Handle dataset_plist();
// A transfer property list for converting n variable-length strings (small buffers).
Handle vlen_transfer_plist(std::size_t n);
// Dimensions of a dataset's dataspace (empty for a scalar).
std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& what);

// ---- attributes (scalar unless stated) ----
bool has_attr(hid_t obj, const std::string& name);
void write_attr_string(hid_t obj, const std::string& name, const std::string& value);
void write_attr_int64(hid_t obj, const std::string& name, std::int64_t value);
void write_attr_uint64(hid_t obj, const std::string& name, std::uint64_t value);
void write_attr_double(hid_t obj, const std::string& name, double value);
void write_attr_int64_array(hid_t obj, const std::string& name, const std::vector<std::int64_t>& v);
void write_attr_string_array(hid_t obj, const std::string& name, const std::vector<std::string>& v);
std::string read_attr_string(hid_t obj, const std::string& name);
std::int64_t read_attr_int64(hid_t obj, const std::string& name);
// An int64 attribute that must fit an int (member ids, format versions, epochs).
int read_attr_int(hid_t obj, const std::string& name);
std::uint64_t read_attr_uint64(hid_t obj, const std::string& name);
double read_attr_double(hid_t obj, const std::string& name);
std::vector<std::int64_t> read_attr_int64_array(hid_t obj, const std::string& name);

// ---- 1-D datasets ----
template <typename T>
struct Traits;
template <>
struct Traits<int> {
  static hid_t file() { return H5T_STD_I32LE; }
  static hid_t mem() { return H5T_NATIVE_INT; }
};
template <>
struct Traits<std::int64_t> {
  static hid_t file() { return H5T_STD_I64LE; }
  static hid_t mem() { return H5T_NATIVE_INT64; }
};
template <>
struct Traits<std::uint64_t> {
  static hid_t file() { return H5T_STD_U64LE; }
  static hid_t mem() { return H5T_NATIVE_UINT64; }
};
template <>
struct Traits<std::uint32_t> {
  static hid_t file() { return H5T_STD_U32LE; }
  static hid_t mem() { return H5T_NATIVE_UINT32; }
};
template <>
struct Traits<double> {
  static hid_t file() { return H5T_IEEE_F64LE; }
  static hid_t mem() { return H5T_NATIVE_DOUBLE; }
};

// Creates a 1-D dataset of n elements and writes `data` (with the transfer property list
// `transfer`, e.g. vlen_transfer_plist for strings).
void write_raw_1d(hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type,
                  const void* data, std::size_t n, hid_t transfer = H5P_DEFAULT);
// Opens a 1-D dataset, checks its rank, returns its length; read_raw_1d fills `out`.
std::size_t length_1d(hid_t loc, const std::string& name);
void read_raw_1d(hid_t loc, const std::string& name, hid_t mem_type, void* out);

template <typename T>
void write_vector(hid_t loc, const std::string& name, const std::vector<T>& v) {
  write_raw_1d(loc, name, Traits<T>::file(), Traits<T>::mem(), v.data(), v.size());
}
template <typename T>
std::vector<T> read_vector(hid_t loc, const std::string& name) {
  std::vector<T> v(length_1d(loc, name));
  if (!v.empty()) read_raw_1d(loc, name, Traits<T>::mem(), v.data());
  return v;
}

void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& v);
std::vector<std::string> read_strings(hid_t loc, const std::string& name);
// A scalar variable-length string dataset (no attribute size limits; h5py: ds.asstr()[()]).
void write_string_dataset(hid_t loc, const std::string& name, const std::string& value);
std::string read_string_dataset(hid_t loc, const std::string& name);

// Ragged arrays as CSR: NAME (flattened values: int32, float64 or strings) + NAME_offsets
// (int64, rows + 1).
void write_ragged(hid_t loc, const std::string& name, const std::vector<std::vector<int>>& rows);
std::vector<std::vector<int>> read_ragged(hid_t loc, const std::string& name);
void write_ragged(hid_t loc, const std::string& name, const std::vector<std::vector<double>>& rows);
std::vector<std::vector<double>> read_ragged_doubles(hid_t loc, const std::string& name);
void write_ragged_strings(hid_t loc, const std::string& name,
                          const std::vector<std::vector<std::string>>& rows);
std::vector<std::vector<std::string>> read_ragged_strings(hid_t loc, const std::string& name);

}  // namespace pbtnas::io::h5
