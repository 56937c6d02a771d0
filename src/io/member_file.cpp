// Member files: one population member's genome, fitness and NamedState.
#include "pbtnas/io/generation_index.hpp"
#include "pbtnas/io/inspect.hpp"
#include "pbtnas/io/member_file.hpp"

#include <algorithm>
#include <map>

#include "file_util.hpp"
#include "h5_util.hpp"

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

std::vector<std::string> split_name(const std::string& name) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = name.find('.', start);
    parts.push_back(name.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  for (const auto& p : parts)
    if (p.empty() || p.find('/') != std::string::npos)
      throw Failure("tensor name '" + name + "' is not a dotted name (empty part or '/')");
  return parts;
}

std::string tensor_path(const std::string& name) {
  std::string path = "/state";
  for (const auto& p : split_name(name)) path += "/" + p;
  return path;
}

// Extra state ("extra.*") of at least 64 KiB is stored chunked and compressed; the networks and
// optimizer state stay contiguous (small, and incompressible floats).
bool compress_extra(const std::string& name, const torch::Tensor& t) {
  static const bool deflate = H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0;
  return deflate && name.compare(0, 6, "extra.") == 0 && t.dim() >= 1 && t.numel() > 0 &&
         static_cast<std::size_t>(t.numel()) * t.element_size() >= (std::size_t{64} << 10);
}

// Creates /state/... groups and tensor datasets, detecting names that would collide.
class StateWriter {
 public:
  explicit StateWriter(hid_t file) : file_(file) {
    h5::create_group(file_, "/state");
    groups_["/state"] = "";
  }

  void write(const NamedTensor& nt) {
    if (!nt.tensor.defined()) throw Failure("tensor '" + nt.name + "' is undefined");
    const std::string path = tensor_path(nt.name);
    std::size_t cut = path.rfind('/');
    ensure_group(path.substr(0, cut), nt.name);
    if (auto g = groups_.find(path); g != groups_.end())
      throw Failure(collision(nt.name, g->second));
    if (auto d = datasets_.find(path); d != datasets_.end())
      throw Failure("tensor name '" + nt.name + "' appears twice in the state");
    datasets_[path] = nt.name;

    torch::Tensor t = nt.tensor.detach().to(torch::kCPU).contiguous();
    std::vector<hsize_t> dims(t.sizes().begin(), t.sizes().end());
    Handle space(
        t.dim() == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(t.dim(), dims.data(), nullptr),
        H5Sclose, "cannot create the dataspace of tensor '" + nt.name + "'");
    Handle ftype = h5_type(t.scalar_type(), true);
    Handle mtype = h5_type(t.scalar_type(), false);
    Handle dcpl = h5::dataset_plist();
    if (compress_extra(nt.name, t)) {
      // Large task state (an RL replay buffer): chunks of about 1 MiB along the first dimension,
      // byte-shuffled and deflated (docs/checkpoint-format.md).
      std::vector<hsize_t> chunk = dims;
      const hsize_t row_bytes = static_cast<hsize_t>(t.numel() / t.size(0)) * t.element_size();
      chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(dims[0], (hsize_t{1} << 20) / std::max<hsize_t>(1, row_bytes)));
      h5::check(H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()), "cannot chunk tensor '" + nt.name + "'");
      h5::check(H5Pset_shuffle(dcpl), "cannot configure tensor '" + nt.name + "'");
      h5::check(H5Pset_deflate(dcpl, 1), "cannot compress tensor '" + nt.name + "'");
    }
    const std::string what = "cannot write tensor '" + nt.name + "'";
    Handle dset(H5Dcreate2(file_, path.c_str(), ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                H5Dclose, what);
    if (t.numel() > 0)
      h5::check(H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()), what);
    h5::write_attr_string(dset, "name", nt.name);
    h5::write_attr_string(dset, "dtype", dtype_name(t.scalar_type()));
    h5::write_attr_int64_array(dset, "shape",
                               std::vector<std::int64_t>(t.sizes().begin(), t.sizes().end()));
  }

 private:
  static std::string collision(const std::string& a, const std::string& b) {
    return "tensor names '" + a + "' and '" + b +
           "' collide: one is a dotted prefix of the other, so they cannot both be stored";
  }

  void ensure_group(const std::string& path, const std::string& tensor) {
    if (groups_.count(path)) return;
    ensure_group(path.substr(0, path.rfind('/')), tensor);
    if (auto d = datasets_.find(path); d != datasets_.end())
      throw Failure(collision(tensor, d->second));
    h5::create_group(file_, path);
    groups_[path] = tensor;
  }

  hid_t file_;
  std::map<std::string, std::string> groups_;    // path -> first tensor below it
  std::map<std::string, std::string> datasets_;  // path -> tensor name
};

torch::Tensor read_tensor(hid_t file, const std::string& name) {
  const std::string path = tensor_path(name);
  if (!h5::link_exists(file, path)) throw Failure("tensor '" + name + "' is missing at " + path);
  Handle dset = h5::open_dataset(file, path);
  const std::string what = "tensor '" + name + "'";
  if (h5::read_attr_string(dset, "name") != name)
    throw Failure(what + ": its 'name' attribute does not match its path");
  torch::ScalarType type = dtype_from_name(h5::read_attr_string(dset, "dtype"));
  Handle stored(H5Dget_type(dset), H5Tclose, "cannot read the type of " + what);
  Handle expected = h5_type(type, true);
  if (H5Tequal(stored, expected) <= 0)
    throw Failure(what + ": stored HDF5 type does not match its dtype attribute '" +
                  dtype_name(type) + "'");
  std::vector<std::int64_t> shape;
  for (hsize_t d : h5::dataset_dims(dset, what)) shape.push_back(static_cast<std::int64_t>(d));
  if (h5::read_attr_int64_array(dset, "shape") != shape)
    throw Failure(what + ": its 'shape' attribute does not match its dataspace");
  torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(type));
  if (t.numel() > 0) {
    Handle mtype = h5_type(type, false);
    h5::check(H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()),
              "cannot read " + what);
  }
  return t;
}

}  // namespace

std::string dtype_name(torch::ScalarType type) {
  for (const auto& d : kDtypes)
    if (type == d.type) return d.name;
  throw CheckpointError(std::string("dtype ") + c10::toString(type) +
                        " cannot be checkpointed; convert the tensor to a supported dtype "
                        "(float16/32/64, bfloat16, int8/16/32/64, uint8, bool)");
}

void write_member_file(const std::string& path, const MemberFile& m) {
  h5::Lock lock(h5::library_mutex());
  h5::silence_errors();
  if (!m.genome_options.empty() && m.genome_options.size() != m.genome.size())
    throw CheckpointError("cannot write " + path + ": genome has " +
                          std::to_string(m.genome.size()) + " genes but genome_options " +
                          std::to_string(m.genome_options.size()) + " names");
  for (const auto& nt : m.state)  // unsupported dtypes fail before anything is written
    if (nt.tensor.defined()) dtype_name(nt.tensor.scalar_type());
  try {
    detail::write_h5_atomic(path, [&](hid_t file) {
      h5::write_attr_string(file, "format", kMemberFormat);
      h5::write_attr_int64(file, "format_version", kCheckpointFormatVersion);
      h5::write_attr_int64(file, "member_id", m.id);
      h5::write_attr_int64(file, "generation", m.generation);
      h5::write_attr_uint64(file, "train_seed", m.train_seed);
      h5::write_vector(file, "genome", m.genome);
      h5::write_strings(file, "genome_options", m.genome_options);
      h5::write_vector(file, "fitness", m.fitness);
      std::vector<std::string> names;
      for (const auto& nt : m.state) names.push_back(nt.name);
      h5::write_strings(file, "tensor_names", names);
      StateWriter writer(file);
      for (const auto& nt : m.state) writer.write(nt);
      if (!m.evaluation.empty()) {
        Handle group = h5::create_group(file, "evaluation");
        std::vector<std::string> names;
        std::vector<double> values;
        for (const auto& [name, value] : m.evaluation) {
          names.push_back(name);
          values.push_back(value);
        }
        h5::write_strings(group, "names", names);
        h5::write_vector(group, "values", values);
      }
    });
  } catch (const Failure& e) {
    throw CheckpointError("cannot write member file " + path + ": " + e.what() +
                          "; check that the directory is writable and has free space");
  }
}

MemberFile read_member_file(const std::string& path, bool load_tensors) {
  h5::Lock lock(h5::library_mutex());
  Handle file = detail::open_checkpoint(path, kMemberFormat);
  try {
    MemberFile m;
    m.id = static_cast<int>(h5::read_attr_int64(file, "member_id"));
    m.generation = h5::read_attr_int64(file, "generation");
    m.train_seed = h5::read_attr_uint64(file, "train_seed");
    m.genome = h5::read_vector<int>(file, "genome");
    m.genome_options = h5::read_strings(file, "genome_options");
    m.fitness = h5::read_vector<double>(file, "fitness");
    for (auto& name : h5::read_strings(file, "tensor_names")) {
      torch::Tensor t = load_tensors ? read_tensor(file, name) : torch::Tensor();
      m.state.push_back({std::move(name), std::move(t)});
    }
    if (h5::link_exists(file, "evaluation")) {
      Handle group = h5::open_group(file, "evaluation");
      const auto names = h5::read_strings(group, "names");
      const auto values = h5::read_vector<double>(group, "values");
      if (names.size() != values.size())
        throw Failure("evaluation/names and evaluation/values differ in length");
      for (std::size_t i = 0; i < names.size(); ++i) m.evaluation.emplace_back(names[i], values[i]);
    }
    return m;
  } catch (const Failure& e) {
    throw CheckpointError(path + " is damaged or incomplete (" + std::string(e.what()) +
                          "); restore the file, or delete its generation directory to resume "
                          "from the previous generation");
  }
}

}  // namespace pbtnas::io
