// The state codec of member, shard and shared files (docs/checkpoint-format.md, "The state"). A
// member's body, which uses it, is in member_body.cpp.
#include "pbtnas/io/member_state.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "pbtnas/io/inspect.hpp"

namespace pbtnas::io {
namespace {

using h5::Failure;
using h5::Handle;

struct DtypeInfo {
  torch::ScalarType type;
  const char* name;
};
const DtypeInfo kDtypes[] = {
    {torch::kFloat32, "float32"},   {torch::kFloat64, "float64"}, {torch::kFloat16, "float16"},
    {torch::kBFloat16, "bfloat16"}, {torch::kInt64, "int64"},     {torch::kInt32, "int32"},
    {torch::kInt16, "int16"},       {torch::kInt8, "int8"},       {torch::kUInt8, "uint8"},
    {torch::kBool, "bool"},
};

torch::ScalarType dtype_from_name(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.type;
  throw Failure("unsupported dtype '" + name + "'");
}

Handle copy_type(hid_t t) { return Handle(H5Tcopy(t), H5Tclose, "cannot create a datatype"); }

// HDF5 type of a dtype, in the file (little-endian, h5py-compatible) or in memory.
Handle h5_type(torch::ScalarType type, bool in_file) {
  switch (type) {
    case torch::kFloat32:
      return copy_type(in_file ? H5T_IEEE_F32LE : H5T_NATIVE_FLOAT);
    case torch::kFloat64:
      return copy_type(in_file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE);
    case torch::kInt64:
      return copy_type(in_file ? H5T_STD_I64LE : H5T_NATIVE_INT64);
    case torch::kInt32:
      return copy_type(in_file ? H5T_STD_I32LE : H5T_NATIVE_INT32);
    case torch::kInt16:
      return copy_type(in_file ? H5T_STD_I16LE : H5T_NATIVE_INT16);
    case torch::kInt8:
      return copy_type(in_file ? H5T_STD_I8LE : H5T_NATIVE_INT8);
    case torch::kUInt8:
      return copy_type(in_file ? H5T_STD_U8LE : H5T_NATIVE_UINT8);
    case torch::kBFloat16:
      return copy_type(in_file ? H5T_STD_U16LE : H5T_NATIVE_UINT16);
    case torch::kFloat16: {  // IEEE half, defined like h5py does (reads as numpy float16)
      Handle t = copy_type(H5T_IEEE_F32LE);
      h5::check(H5Tset_fields(t, 15, 10, 5, 0, 10), "cannot define float16");
      h5::check(H5Tset_size(t, 2), "cannot define float16");
      h5::check(H5Tset_ebias(t, 15), "cannot define float16");
      return t;
    }
    case torch::kBool: {  // h5py's boolean enum (reads as numpy bool)
      Handle t(H5Tenum_create(in_file ? H5T_STD_I8LE : H5T_NATIVE_INT8), H5Tclose,
               "cannot define bool");
      signed char f = 0, tr = 1;
      h5::check(H5Tenum_insert(t, "FALSE", &f), "cannot define bool");
      h5::check(H5Tenum_insert(t, "TRUE", &tr), "cannot define bool");
      return t;
    }
    default:
      throw Failure(std::string("unsupported dtype ") + c10::toString(type));
  }
}

// Tensor names are dotted names: non-empty components, no '/' (a tensor stored on its own is the
// dataset /state/tensors/<name>; format 1 files store every tensor at /state/<a>/<b>/...).
void check_name(const std::string& name) {
  bool bad = name.empty() || name.front() == '.' || name.back() == '.' ||
             name.find('/') != std::string::npos || name.find("..") != std::string::npos;
  if (bad) throw Failure("tensor name '" + name + "' is not a dotted name (empty part or '/')");
}

// Tensors of fewer bytes than this are packed (see write_state); larger ones get a dataset each.
constexpr std::size_t kOwnDatasetBytes = std::size_t{64} << 10;

// Extra state ("extra.*") and shared state ("shared.*", pool.h5) stored on its own is chunked and compressed; the networks and
// optimizer state stay contiguous (incompressible floats).
bool compress_extra(const std::string& name, const torch::Tensor& t) {
  static const bool deflate = H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0;
  return deflate && (name.compare(0, 6, "extra.") == 0 || name.compare(0, 7, "shared.") == 0) && t.dim() >= 1 &&
         t.numel() > 0;
}

std::size_t tensor_bytes(const torch::Tensor& t) {
  return static_cast<std::size_t>(t.numel()) * t.element_size();
}

void write_own_tensor(hid_t tensors, const std::string& name, const torch::Tensor& t) {
  std::vector<hsize_t> dims(t.sizes().begin(), t.sizes().end());
  Handle space(t.dim() == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(t.dim(), dims.data(), nullptr),
               H5Sclose, "cannot create the dataspace of tensor '" + name + "'");
  Handle dcpl = h5::dataset_plist();
  if (compress_extra(name, t)) {
    // Large task state (an RL replay buffer): chunks of about 1 MiB along the first dimension,
    // byte-shuffled and deflated (docs/checkpoint-format.md).
    std::vector<hsize_t> chunk = dims;
    const hsize_t row_bytes = static_cast<hsize_t>(t.numel() / t.size(0)) * t.element_size();
    chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(dims[0], (hsize_t{1} << 20) / std::max<hsize_t>(1, row_bytes)));
    h5::check(H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()), "cannot chunk tensor '" + name + "'");
    h5::check(H5Pset_shuffle(dcpl), "cannot configure tensor '" + name + "'");
    h5::check(H5Pset_deflate(dcpl, 1), "cannot compress tensor '" + name + "'");
  }
  const std::string what = "cannot write tensor '" + name + "'";
  Handle ftype = h5_type(t.scalar_type(), true), mtype = h5_type(t.scalar_type(), false);
  Handle dset(H5Dcreate2(tensors, name.c_str(), ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
              H5Dclose, what);
  h5::check(H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()), what);
}

// Format 2 (docs/checkpoint-format.md): HDF5 spends its time per object, not per byte, so the
// many small tensors of a member (biases, norms, optimizer counters) are packed: every tensor
// under 64 KiB is appended, in state order, to one 1-D dataset per dtype, /state/packed/<dtype>;
// larger ones get their own dataset /state/tensors/<name>. The table /state/dtypes, ranks,
// shapes (all shapes concatenated) and offsets (element offset into the packed dataset, or -1)
// says where each tensor of /tensor_names is.
}  // namespace

void detail::write_state(hid_t file, const NamedState& state) {
  std::set<std::string> seen;
  std::vector<torch::Tensor> cpu;
  std::vector<std::string> dtypes;
  std::vector<std::int64_t> ranks, shapes, offsets;
  std::map<torch::ScalarType, std::int64_t> packed_numel;
  bool any_own = false;
  for (const auto& nt : state) {
    check_name(nt.name);
    if (!seen.insert(nt.name).second)
      throw Failure("tensor name '" + nt.name + "' appears twice in the state");
    if (!nt.tensor.defined()) throw Failure("tensor '" + nt.name + "' is undefined");
    // Only the bytes are read: a CPU contiguous tensor (as export_member_state gives) is used as
    // it is, without the per-tensor dispatch of detach/to/contiguous.
    const torch::Tensor& given = nt.tensor;
    torch::Tensor t = given.device().is_cpu() && given.is_contiguous()
                          ? given
                          : given.detach().to(torch::kCPU).contiguous();
    dtypes.push_back(dtype_name(t.scalar_type()));
    ranks.push_back(t.dim());
    shapes.insert(shapes.end(), t.sizes().begin(), t.sizes().end());
    if (tensor_bytes(t) >= kOwnDatasetBytes) {
      offsets.push_back(-1);
      any_own = true;
    } else {
      std::int64_t& n = packed_numel[t.scalar_type()];
      offsets.push_back(n);
      n += t.numel();
    }
    cpu.push_back(std::move(t));
  }
  Handle group = h5::create_group(file, "state");
  h5::write_strings(group, "dtypes", dtypes);
  h5::write_vector(group, "ranks", ranks);
  h5::write_vector(group, "shapes", shapes);
  h5::write_vector(group, "offsets", offsets);
  if (!packed_numel.empty()) {
    Handle packed = h5::create_group(group, "packed");
    for (const auto& [type, numel] : packed_numel) {
      const std::size_t elem = c10::elementSize(type);
      std::vector<unsigned char> bytes(static_cast<std::size_t>(numel) * elem);
      for (std::size_t i = 0; i < cpu.size(); ++i)
        if (offsets[i] >= 0 && cpu[i].scalar_type() == type && cpu[i].numel() > 0)
          std::memcpy(bytes.data() + static_cast<std::size_t>(offsets[i]) * elem, cpu[i].data_ptr(),
                      tensor_bytes(cpu[i]));
      Handle ftype = h5_type(type, true), mtype = h5_type(type, false);
      h5::write_raw_1d(packed, dtype_name(type), ftype, mtype, bytes.data(),
                       static_cast<std::size_t>(numel));
    }
  }
  if (any_own) {
    Handle tensors = h5::create_group(group, "tensors");
    for (std::size_t i = 0; i < cpu.size(); ++i)
      if (offsets[i] < 0) write_own_tensor(tensors, state[i].name, cpu[i]);
  }
}

namespace {

void check_stored_type(hid_t dset, torch::ScalarType type, const std::string& what) {
  Handle stored(H5Dget_type(dset), H5Tclose, "cannot read the type of " + what);
  Handle expected = h5_type(type, true);
  if (H5Tequal(stored, expected) <= 0)
    throw Failure(what + ": stored HDF5 type does not match its dtype '" + dtype_name(type) + "'");
}

void read_into(hid_t dset, torch::Tensor& t, const std::string& what) {
  if (t.numel() == 0) return;
  Handle mtype = h5_type(t.scalar_type(), false);
  h5::check(H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()), "cannot read " + what);
}

// Element count of a shape read from a file, refusing negative extents and overflow.
std::int64_t checked_numel(const std::vector<std::int64_t>& shape, const std::string& what) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0) throw Failure(what + ": negative extent in its shape");
    if (d != 0 && n > std::numeric_limits<std::int64_t>::max() / d)
      throw Failure(what + ": its shape's element count overflows");
    n *= d;
  }
  return n;
}

// torch::empty for a shape read from a file: a damaged shape becomes a Failure, not a torch error.
torch::Tensor allocate(const std::vector<std::int64_t>& shape, torch::ScalarType type, const std::string& what) {
  checked_numel(shape, what);
  try {
    return torch::empty(shape, torch::TensorOptions().dtype(type));
  } catch (const std::exception& e) {
    throw Failure(what + ": cannot allocate its shape (" + std::string(e.what()).substr(0, 200) + ")");
  }
}

}  // namespace

namespace detail {

StateReader::StateReader(hid_t loc, const std::vector<std::string>& names)
    : group_(h5::open_group(loc, "state")), names_(names) {
  dtypes_ = h5::read_strings(group_, "dtypes");
  const auto ranks = h5::read_vector<std::int64_t>(group_, "ranks");
  shapes_ = h5::read_vector<std::int64_t>(group_, "shapes");
  offsets_ = h5::read_vector<std::int64_t>(group_, "offsets");
  const std::size_t n = names_.size();
  if (dtypes_.size() != n || ranks.size() != n || offsets_.size() != n)
    throw Failure("the state table (dtypes, ranks, offsets) does not list the " + std::to_string(n) +
                  " tensors of tensor_names");
  shape_start_.reserve(n + 1);
  std::size_t next_dim = 0;
  for (std::size_t i = 0; i < n; ++i) {
    shape_start_.push_back(next_dim);
    if (ranks[i] < 0 || next_dim + static_cast<std::size_t>(ranks[i]) > shapes_.size())
      throw Failure("tensor '" + names_[i] + "': its rank does not fit the shapes table");
    next_dim += static_cast<std::size_t>(ranks[i]);
  }
  shape_start_.push_back(next_dim);
  if (next_dim != shapes_.size()) throw Failure("the shapes table is longer than the tensors' ranks");
}

StateReader::~StateReader() = default;

torch::Tensor StateReader::tensor(std::size_t i) {
  const std::string what = "tensor '" + names_.at(i) + "'";
  const torch::ScalarType type = dtype_from_name(dtypes_[i]);
  const std::vector<std::int64_t> shape(shapes_.begin() + static_cast<std::ptrdiff_t>(shape_start_[i]),
                                        shapes_.begin() + static_cast<std::ptrdiff_t>(shape_start_[i + 1]));
  const std::int64_t numel = checked_numel(shape, what);
  torch::Tensor t;
  if (offsets_[i] < 0) {
    const std::string path = "tensors/" + names_[i];
    if (!h5::link_exists(group_, "tensors") || !h5::link_exists(group_, path))
      throw Failure(what + " is missing at /state/" + path);
    Handle dset = h5::open_dataset(group_, path);
    check_stored_type(dset, type, what);
    std::vector<std::int64_t> dims;
    for (hsize_t d : h5::dataset_dims(dset, what)) dims.push_back(static_cast<std::int64_t>(d));
    if (dims != shape) throw Failure(what + ": its dataset's shape does not match the shapes table");
    t = allocate(shape, type, what);
    read_into(dset, t, what);
    return t;
  }
  auto it = packed_.find(dtypes_[i]);
  if (it == packed_.end()) {
    const std::string path = "packed/" + dtypes_[i];
    if (!h5::link_exists(group_, "packed") || !h5::link_exists(group_, path))
      throw Failure(what + ": /state/" + path + " is missing");
    Handle dset = h5::open_dataset(group_, path);
    check_stored_type(dset, type, "/state/" + path);
    const auto dims = h5::dataset_dims(dset, "/state/" + path);
    if (dims.size() != 1) throw Failure("/state/" + path + " is not 1-D");
    // Stored contiguously or compactly, so its extent cannot exceed what the file holds for it.
    const hsize_t elem = c10::elementSize(type);
    if (dims[0] > std::numeric_limits<hsize_t>::max() / elem || H5Dget_storage_size(dset) < dims[0] * elem)
      throw Failure("/state/" + path + " is shorter in the file than its extent says");
    torch::Tensor all = allocate({static_cast<std::int64_t>(dims[0])}, type, "/state/" + path);
    read_into(dset, all, "/state/" + path);
    it = packed_.emplace(dtypes_[i], std::move(all)).first;
  }
  const std::int64_t len = it->second.numel();
  if (offsets_[i] > len || numel > len - offsets_[i])
    throw Failure(what + " lies beyond the end of /state/packed/" + dtypes_[i]);
  t = allocate(shape, type, what);
  if (numel > 0) t.view(-1).copy_(it->second.narrow(0, offsets_[i], numel));
  return t;
}

std::vector<torch::Tensor> read_state(hid_t file, const std::vector<std::string>& names) {
  StateReader reader(file, names);
  std::vector<torch::Tensor> out;
  out.reserve(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) out.push_back(reader.tensor(i));
  return out;
}

// Format 1: every tensor at /state/<a>/<b>/... with name, dtype and shape attributes.
torch::Tensor read_tensor_v1(hid_t file, const std::string& name) {
  std::string path = "/state/" + name;
  std::replace(path.begin(), path.end(), '.', '/');
  if (!h5::link_exists(file, path)) throw Failure("tensor '" + name + "' is missing at " + path);
  Handle dset = h5::open_dataset(file, path);
  const std::string what = "tensor '" + name + "'";
  if (h5::read_attr_string(dset, "name") != name)
    throw Failure(what + ": its 'name' attribute does not match its path");
  torch::ScalarType type = dtype_from_name(h5::read_attr_string(dset, "dtype"));
  check_stored_type(dset, type, what);
  std::vector<std::int64_t> shape;
  for (hsize_t d : h5::dataset_dims(dset, what)) shape.push_back(static_cast<std::int64_t>(d));
  if (h5::read_attr_int64_array(dset, "shape") != shape)
    throw Failure(what + ": its 'shape' attribute does not match its dataspace");
  torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(type));
  read_into(dset, t, what);
  return t;
}

}  // namespace detail

std::string dtype_name(torch::ScalarType type) {
  for (const auto& d : kDtypes)
    if (type == d.type) return d.name;
  throw CheckpointError(std::string("dtype ") + c10::toString(type) +
                        " cannot be checkpointed; convert the tensor to a supported dtype "
                        "(float16/32/64, bfloat16, int8/16/32/64, uint8, bool)");
}

}  // namespace pbtnas::io
