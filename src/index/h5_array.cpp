#include "pbtnas/index/h5_array.hpp"

#include <stdexcept>
#include <vector>

#include "pbtnas/index/h5_util.hpp"
#include "pbtnas/util/paths.hpp"

namespace pbtnas::io {
namespace {

std::string root_names(hid_t file) {
  std::string list;
  H5G_info_t info;
  if (H5Gget_info(file, &info) >= 0) {
    for (hsize_t i = 0; i < info.nlinks; ++i) {
      char buf[256] = {0};
      if (H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, sizeof buf, H5P_DEFAULT) < 0) continue;
      list += (list.empty() ? "" : ", ") + std::string(buf);
    }
  }
  H5Eclear2(H5E_DEFAULT);
  return list.empty() ? "nothing" : list;
}

// The element type of a file datatype and the native memory type to read it as.
ElementType element_of(hid_t type, hid_t& mem, const std::string& what) {
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    switch (size) {
      case 1: mem = is_signed ? H5T_NATIVE_INT8 : H5T_NATIVE_UINT8; return is_signed ? ElementType::I8 : ElementType::U8;
      case 2: mem = is_signed ? H5T_NATIVE_INT16 : H5T_NATIVE_UINT16; return is_signed ? ElementType::I16 : ElementType::U16;
      case 4: mem = is_signed ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT32; return is_signed ? ElementType::I32 : ElementType::U32;
      case 8: mem = is_signed ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64; return is_signed ? ElementType::I64 : ElementType::U64;
      default: break;
    }
  } else if (cls == H5T_FLOAT) {
    if (size == 4) { mem = H5T_NATIVE_FLOAT; return ElementType::F32; }
    if (size == 8) { mem = H5T_NATIVE_DOUBLE; return ElementType::F64; }
    if (size == 2) { mem = H5T_NATIVE_FLOAT; return ElementType::F32; }  // float16: converted
  }
  throw std::runtime_error(what + " is not an integer or floating-point dataset; write images as uint8 or "
                           "float32 and labels as integers (e.g. f.create_dataset('labels', data=y.astype('int64')))");
}

}  // namespace

RawArray read_h5_array(const std::string& path, const std::string& name, std::int64_t limit) {
  const std::string what = path + ":" + name;
  if (!is_regular_file(path))
    throw std::runtime_error("HDF5 data: " + path + " does not exist; check classify.data.train / test and "
                             "classify.data.dir");
  h5::Lock lock(h5::library_mutex());
  h5::silence_errors();
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw std::runtime_error("HDF5 data: " + path + " is not an HDF5 file; write it with h5py (docs/tasks.md) "
                             "or choose the matching classify.data.format");
  try {
    h5::Handle file = h5::open_file_read(path);
    if (!h5::link_exists(file, name))
      throw std::runtime_error("HDF5 data: " + path + " has no dataset '" + name + "' (it holds: " +
                               root_names(file) + "); write it, or set classify.data.images_key / labels_key");
    h5::Handle ds = h5::open_dataset(file, name);
    const std::vector<hsize_t> dims = h5::dataset_dims(ds, what);
    if (dims.empty())
      throw std::runtime_error("HDF5 data: " + what + " is a scalar; expected one row per image");
    h5::Handle ftype(H5Dget_type(ds), H5Tclose, what + ": datatype");
    hid_t mem = -1;
    RawArray a;
    a.origin = what;
    a.type = element_of(ftype, mem, "HDF5 data: " + what);
    a.stored_rows = static_cast<std::int64_t>(dims[0]);
    std::vector<hsize_t> count = dims;
    if (limit > 0 && static_cast<hsize_t>(limit) < count[0]) count[0] = static_cast<hsize_t>(limit);
    std::size_t n = 1;
    for (auto d : count) {
      a.shape.push_back(static_cast<std::int64_t>(d));
      n *= static_cast<std::size_t>(d);
    }
    a.bytes.resize(n * element_size(a.type));
    if (n > 0) {
      h5::Handle fspace(H5Dget_space(ds), H5Sclose, what + ": dataspace");
      std::vector<hsize_t> start(dims.size(), 0);
      h5::check(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
                what + ": select rows");
      h5::Handle mspace(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose,
                        what + ": memory space");
      h5::check(H5Dread(ds, mem, mspace, fspace, H5P_DEFAULT, a.bytes.data()), what + ": read");
    }
    return a;
  } catch (const h5::Failure& e) {
    throw std::runtime_error("HDF5 data: " + std::string(e.what()) + "; the file " + path +
                             " may be damaged or still being written: write it again");
  }
}

void install_hdf5_array_reader() { set_hdf5_array_reader(&read_h5_array); }

}  // namespace pbtnas::io
