#include "pbtnas/index/h5_util.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace pbtnas::io::h5 {
namespace {

herr_t innermost(unsigned n, const H5E_error2_t* err, void* data) {
  if (n != 0) return 0;
  auto* out = static_cast<std::string*>(data);
  char minor[160] = {0};
  H5Eget_msg(err->min_num, nullptr, minor, sizeof minor);
  *out = err->desc ? err->desc : "";
  if (minor[0] != '\0' && out->find(minor) == std::string::npos)
    *out += out->empty() ? std::string(minor) : " (" + std::string(minor) + ")";
  return 0;
}

Handle vlen_string_type() {
  Handle t(H5Tcopy(H5T_C_S1), H5Tclose, "cannot create a string type");
  check(H5Tset_size(t, H5T_VARIABLE), "cannot create a string type");
  check(H5Tset_cset(t, H5T_CSET_UTF8), "cannot create a string type");
  return t;
}

Handle scalar_space() {
  return Handle(H5Screate(H5S_SCALAR), H5Sclose, "cannot create a dataspace");
}

Handle simple_space(std::size_t n) {
  hsize_t dims[1] = {static_cast<hsize_t>(n)};
  return Handle(H5Screate_simple(1, dims, nullptr), H5Sclose, "cannot create a dataspace");
}

Handle open_attr(hid_t obj, const std::string& name) {
  if (!has_attr(obj, name)) throw Failure("attribute '" + name + "' is missing");
  return Handle(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose,
                "cannot open attribute '" + name + "'");
}

// Number of elements of an attribute; requires it to hold exactly `expected` when >= 0.
hssize_t attr_points(hid_t attr, const std::string& name, hssize_t expected) {
  Handle space(H5Aget_space(attr), H5Sclose, "cannot read attribute '" + name + "'");
  hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n < 0) fail("cannot read attribute '" + name + "'");
  if (expected >= 0 && n != expected)
    throw Failure("attribute '" + name + "' holds " + std::to_string(n) + " values, expected " +
                  std::to_string(expected));
  return n;
}

void write_attr(hid_t obj, const std::string& name, hid_t file_type, hid_t mem_type, hid_t space,
                const void* data) {
  const std::string what = "cannot write attribute '" + name + "'";
  Handle attr(H5Acreate2(obj, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
              what);
  check(H5Awrite(attr, mem_type, data), what);
}

H5T_class_t attr_class(hid_t attr, const std::string& name) {
  Handle type(H5Aget_type(attr), H5Tclose, "cannot read attribute '" + name + "'");
  return H5Tget_class(type);
}

std::vector<std::string> read_vlen_strings(hid_t dset, hid_t space, std::size_t n,
                                           const std::string& name) {
  Handle type(H5Dget_type(dset), H5Tclose, "cannot read dataset '" + name + "'");
  if (H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) <= 0)
    throw Failure("dataset '" + name + "' is not a variable-length string dataset");
  Handle mem = vlen_string_type();
  std::vector<char*> buf(n, nullptr);
  Handle dxpl = vlen_transfer_plist(n);
  check(H5Dread(dset, mem, H5S_ALL, H5S_ALL, dxpl, buf.data()),
        "cannot read dataset '" + name + "'");
  std::vector<std::string> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = buf[i] ? buf[i] : "";
  H5Dvlen_reclaim(mem, space, H5P_DEFAULT, buf.data());
  return out;
}

}  // namespace

std::recursive_mutex& library_mutex() {
  static std::recursive_mutex m;
  return m;
}

void silence_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

void fail(const std::string& what) {
  std::string detail;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, &detail);
  H5Eclear2(H5E_DEFAULT);
  throw Failure(detail.empty() ? what : what + ": " + detail);
}

Handle::Handle(hid_t id, Closer closer, const std::string& what) : id_(id), closer_(closer) {
  if (id_ < 0) fail(what);
}

Handle::~Handle() {
  if (id_ >= 0 && closer_) closer_(id_);
}

Handle::Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = other.id_;
    closer_ = other.closer_;
    other.id_ = -1;
  }
  return *this;
}

void Handle::close(const std::string& what) {
  hid_t id = id_;
  id_ = -1;
  if (id >= 0 && closer_) check(closer_(id), what);
}

bool link_exists(hid_t loc, const std::string& name) {
  htri_t r = H5Lexists(loc, name.c_str(), H5P_DEFAULT);
  if (r < 0) fail("cannot look up '" + name + "'");
  return r > 0;
}

Handle open_group(hid_t loc, const std::string& name) {
  if (!link_exists(loc, name)) throw Failure("group '" + name + "' is missing");
  return Handle(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), H5Gclose,
                "cannot open group '" + name + "'");
}

Handle create_group(hid_t loc, const std::string& name) {
  Handle gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose, "cannot create a property list");
  check(H5Pset_obj_track_times(gcpl, false), "cannot configure group '" + name + "'");
  return Handle(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT), H5Gclose,
                "cannot create group '" + name + "'");
}

Handle open_dataset(hid_t loc, const std::string& name) {
  if (!link_exists(loc, name)) throw Failure("dataset '" + name + "' is missing");
  return Handle(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), H5Dclose,
                "cannot open dataset '" + name + "'");
}

Handle dataset_plist() {
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "cannot create a property list");
  check(H5Pset_obj_track_times(dcpl, false), "cannot configure a dataset");
  return dcpl;
}

Handle vlen_transfer_plist(std::size_t n) {
  // A variable-length string write or read converts through HDF5's type-conversion and
  // background buffers, which by default are 1 MiB each and zero-filled on every call: for the
  // few short strings of a member file that fill cost more than the rest of the file. Buffers
  // sized for n elements (pointer or hvl_t sized, 16 bytes) give the same result.
  Handle dxpl(H5Pcreate(H5P_DATASET_XFER), H5Pclose, "cannot create a property list");
  check(H5Pset_buffer(dxpl, std::max<std::size_t>(n, 1) * 16, nullptr, nullptr),
        "cannot size the conversion buffer");
  return dxpl;
}

std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& what) {
  Handle space(H5Dget_space(dataset), H5Sclose, "cannot read the dataspace of " + what);
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) fail("cannot read the dataspace of " + what);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space, dims.data(), nullptr) < 0)
    fail("cannot read the dataspace of " + what);
  return dims;
}

// ---- attributes ----

bool has_attr(hid_t obj, const std::string& name) {
  htri_t r = H5Aexists(obj, name.c_str());
  if (r < 0) fail("cannot look up attribute '" + name + "'");
  return r > 0;
}

void write_attr_string(hid_t obj, const std::string& name, const std::string& value) {
  Handle type = vlen_string_type();
  Handle space = scalar_space();
  const char* p = value.c_str();
  write_attr(obj, name, type, type, space, &p);
}

void write_attr_int64(hid_t obj, const std::string& name, std::int64_t value) {
  write_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, scalar_space(), &value);
}

void write_attr_uint64(hid_t obj, const std::string& name, std::uint64_t value) {
  write_attr(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, scalar_space(), &value);
}

void write_attr_double(hid_t obj, const std::string& name, double value) {
  write_attr(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, scalar_space(), &value);
}

void write_attr_int64_array(hid_t obj, const std::string& name,
                            const std::vector<std::int64_t>& v) {
  static const std::int64_t none = 0;  // HDF5 rejects a null buffer even for 0 elements
  write_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, simple_space(v.size()),
             v.empty() ? &none : v.data());
}

void write_attr_string_array(hid_t obj, const std::string& name,
                             const std::vector<std::string>& v) {
  std::vector<const char*> ptrs;
  for (const auto& s : v) ptrs.push_back(s.c_str());
  Handle type = vlen_string_type();
  static const char* const none = "";
  write_attr(obj, name, type, type, simple_space(v.size()), v.empty() ? &none : ptrs.data());
}

std::string read_attr_string(hid_t obj, const std::string& name) {
  Handle attr = open_attr(obj, name);
  attr_points(attr, name, 1);
  Handle type(H5Aget_type(attr), H5Tclose, "cannot read attribute '" + name + "'");
  if (H5Tget_class(type) != H5T_STRING) throw Failure("attribute '" + name + "' is not a string");
  if (H5Tis_variable_str(type) > 0) {
    Handle mem = vlen_string_type();
    char* p = nullptr;
    check(H5Aread(attr, mem, &p), "cannot read attribute '" + name + "'");
    std::string s = p ? p : "";
    H5free_memory(p);
    return s;
  }
  std::size_t size = H5Tget_size(type);
  std::string s(size, '\0');
  check(H5Aread(attr, type, s.data()), "cannot read attribute '" + name + "'");
  return s.substr(0, std::strlen(s.c_str()));
}

namespace {
// The one reader of scalar numeric attributes: present, exactly one value, of an integer class
// (or a float one when `floats`), converted by HDF5 into `mem_type`.
template <typename T>
T read_attr_number(hid_t obj, const std::string& name, hid_t mem_type, bool floats) {
  Handle attr = open_attr(obj, name);
  attr_points(attr, name, 1);
  const H5T_class_t c = attr_class(attr, name);
  if (c != H5T_INTEGER && !(floats && c == H5T_FLOAT))
    throw Failure("attribute '" + name + "' is not " + (floats ? "a number" : "an integer"));
  T v{};
  check(H5Aread(attr, mem_type, &v), "cannot read attribute '" + name + "'");
  return v;
}
}  // namespace

std::int64_t read_attr_int64(hid_t obj, const std::string& name) {
  return read_attr_number<std::int64_t>(obj, name, H5T_NATIVE_INT64, false);
}

std::uint64_t read_attr_uint64(hid_t obj, const std::string& name) {
  return read_attr_number<std::uint64_t>(obj, name, H5T_NATIVE_UINT64, false);
}

double read_attr_double(hid_t obj, const std::string& name) {
  return read_attr_number<double>(obj, name, H5T_NATIVE_DOUBLE, true);
}

int read_attr_int(hid_t obj, const std::string& name) {
  const std::int64_t v = read_attr_int64(obj, name);
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    throw Failure("attribute '" + name + "' holds " + std::to_string(v) + ", out of range");
  return static_cast<int>(v);
}

std::vector<std::int64_t> read_attr_int64_array(hid_t obj, const std::string& name) {
  Handle attr = open_attr(obj, name);
  std::vector<std::int64_t> v(static_cast<std::size_t>(attr_points(attr, name, -1)));
  if (attr_class(attr, name) != H5T_INTEGER)
    throw Failure("attribute '" + name + "' is not an integer array");
  if (!v.empty()) check(H5Aread(attr, H5T_NATIVE_INT64, v.data()), "cannot read '" + name + "'");
  return v;
}

// ---- 1-D datasets ----

namespace {
// Well below the 64 KiB an object header can hold, so the header's other messages fit beside it.
constexpr std::size_t kCompactBytes = 8192;
}  // namespace

void write_raw_1d(hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type,
                  const void* data, std::size_t n, hid_t transfer) {
  const std::string what = "cannot write dataset '" + name + "'";
  Handle space = simple_space(n);
  Handle dcpl = dataset_plist();
  // A small array is stored in its dataset's object header (compact layout) instead of a data
  // block of its own: one allocation and one write less per dataset, and readers see no
  // difference. A member has about ten such arrays (genome, fitness, names, the state's table).
  if (n * H5Tget_size(file_type) <= kCompactBytes) check(H5Pset_layout(dcpl, H5D_COMPACT), what);
  Handle dset(H5Dcreate2(loc, name.c_str(), file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
              H5Dclose, what);
  if (n > 0) check(H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, transfer, data), what);
}

std::size_t length_1d(hid_t loc, const std::string& name) {
  Handle dset = open_dataset(loc, name);
  auto dims = dataset_dims(dset, "dataset '" + name + "'");
  if (dims.size() != 1)
    throw Failure("dataset '" + name + "' has rank " + std::to_string(dims.size()) +
                  ", expected a 1-D array");
  return static_cast<std::size_t>(dims[0]);
}

void read_raw_1d(hid_t loc, const std::string& name, hid_t mem_type, void* out) {
  Handle dset = open_dataset(loc, name);
  check(H5Dread(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out),
        "cannot read dataset '" + name + "'");
}

void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& v) {
  std::vector<const char*> ptrs;
  for (const auto& s : v) ptrs.push_back(s.c_str());
  Handle type = vlen_string_type();
  Handle dxpl = vlen_transfer_plist(v.size());
  write_raw_1d(loc, name, type, type, ptrs.data(), v.size(), dxpl);
}

std::vector<std::string> read_strings(hid_t loc, const std::string& name) {
  std::size_t n = length_1d(loc, name);
  Handle dset = open_dataset(loc, name);
  Handle space(H5Dget_space(dset), H5Sclose, "cannot read dataset '" + name + "'");
  if (n == 0) return {};
  return read_vlen_strings(dset, space, n, name);
}

void write_string_dataset(hid_t loc, const std::string& name, const std::string& value) {
  const std::string what = "cannot write dataset '" + name + "'";
  Handle type = vlen_string_type();
  Handle space = scalar_space();
  Handle dcpl = dataset_plist();
  Handle dset(H5Dcreate2(loc, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), H5Dclose,
              what);
  const char* p = value.c_str();
  Handle dxpl = vlen_transfer_plist(1);
  check(H5Dwrite(dset, type, H5S_ALL, H5S_ALL, dxpl, &p), what);
}

std::string read_string_dataset(hid_t loc, const std::string& name) {
  Handle dset = open_dataset(loc, name);
  if (!dataset_dims(dset, "dataset '" + name + "'").empty())
    throw Failure("dataset '" + name + "' is not a scalar string");
  Handle space(H5Dget_space(dset), H5Sclose, "cannot read dataset '" + name + "'");
  return read_vlen_strings(dset, space, 1, name).front();
}

namespace {
// CSR: the rows concatenated (written by `write_flat`) + NAME_offsets (rows + 1 entries).
template <typename T, typename WriteFlat>
void write_csr(hid_t loc, const std::string& name, const std::vector<std::vector<T>>& rows,
               WriteFlat write_flat) {
  std::vector<T> flat;
  std::vector<std::int64_t> off{0};
  for (const auto& r : rows) {
    flat.insert(flat.end(), r.begin(), r.end());
    off.push_back(static_cast<std::int64_t>(flat.size()));
  }
  write_flat(flat);
  write_vector(loc, name + "_offsets", off);
}

template <typename T>
std::vector<std::vector<T>> split_csr(hid_t loc, const std::string& name,
                                      const std::vector<T>& flat) {
  auto off = read_vector<std::int64_t>(loc, name + "_offsets");
  bool ok =
      !off.empty() && off.front() == 0 && off.back() == static_cast<std::int64_t>(flat.size());
  for (std::size_t i = 1; ok && i < off.size(); ++i) ok = off[i] >= off[i - 1];
  if (!ok)
    throw Failure("dataset '" + name + "_offsets' is not a valid offset array for '" + name +
                  "' (" + std::to_string(flat.size()) + " values)");
  std::vector<std::vector<T>> rows;
  for (std::size_t i = 0; i + 1 < off.size(); ++i)
    rows.emplace_back(flat.begin() + off[i], flat.begin() + off[i + 1]);
  return rows;
}
}  // namespace

void write_ragged(hid_t loc, const std::string& name, const std::vector<std::vector<int>>& rows) {
  write_csr(loc, name, rows, [&](const std::vector<int>& flat) { write_vector(loc, name, flat); });
}

std::vector<std::vector<int>> read_ragged(hid_t loc, const std::string& name) {
  return split_csr(loc, name, read_vector<int>(loc, name));
}

void write_ragged(hid_t loc, const std::string& name, const std::vector<std::vector<double>>& rows) {
  write_csr(loc, name, rows, [&](const std::vector<double>& flat) { write_vector(loc, name, flat); });
}

std::vector<std::vector<double>> read_ragged_doubles(hid_t loc, const std::string& name) {
  return split_csr(loc, name, read_vector<double>(loc, name));
}

void write_ragged_strings(hid_t loc, const std::string& name,
                          const std::vector<std::vector<std::string>>& rows) {
  write_csr(loc, name, rows,
            [&](const std::vector<std::string>& flat) { write_strings(loc, name, flat); });
}

std::vector<std::vector<std::string>> read_ragged_strings(hid_t loc, const std::string& name) {
  return split_csr(loc, name, read_strings(loc, name));
}

}  // namespace pbtnas::io::h5
