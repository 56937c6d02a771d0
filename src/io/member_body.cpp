// A member's body: the datasets and attributes a member file holds at its root and a shard of
// version 1 in each member's group (docs/checkpoint-format.md).
#include <cstdint>

#include "pbtnas/io/inspect.hpp"
#include "pbtnas/io/member_state.hpp"

namespace pbtnas::io {

using h5::Failure;
using h5::Handle;

namespace detail {

void check_member(const MemberFile& m, const std::string& where) {
  if (!m.genome_options.empty() && m.genome_options.size() != m.genome.size())
    throw CheckpointError("cannot write " + where + ": genome has " + std::to_string(m.genome.size()) +
                          " genes but genome_options " + std::to_string(m.genome_options.size()) + " names");
  for (const auto& nt : m.state)  // unsupported dtypes fail before anything is written
    if (nt.tensor.defined()) dtype_name(nt.tensor.scalar_type());
}

void write_named_state(hid_t loc, const NamedState& state) {
  std::vector<std::string> names;
  for (const auto& nt : state) names.push_back(nt.name);
  h5::write_strings(loc, "tensor_names", names);
  write_state(loc, state);
}

NamedState read_named_state(hid_t loc, int version, bool load_tensors) {
  std::vector<std::string> names = h5::read_strings(loc, "tensor_names");
  std::vector<torch::Tensor> tensors(names.size());
  if (load_tensors && version >= 2) {
    tensors = read_state(loc, names);
  } else if (load_tensors) {
    for (std::size_t i = 0; i < names.size(); ++i) tensors[i] = read_tensor_v1(loc, names[i]);
  }
  NamedState state;
  for (std::size_t i = 0; i < names.size(); ++i) state.push_back({std::move(names[i]), std::move(tensors[i])});
  return state;
}

void write_member_body(hid_t loc, const MemberFile& m) {
  h5::write_attr_int64(loc, "member_id", m.id);
  h5::write_attr_int64(loc, "generation", m.generation);
  h5::write_attr_uint64(loc, "train_seed", m.train_seed);
  h5::write_vector(loc, "genome", m.genome);
  h5::write_strings(loc, "genome_options", m.genome_options);
  h5::write_vector(loc, "fitness", m.fitness);
  write_named_state(loc, m.state);
  if (m.evaluation.empty()) return;
  Handle group = h5::create_group(loc, "evaluation");
  std::vector<std::string> names;
  std::vector<double> values;
  for (const auto& [name, value] : m.evaluation) {
    names.push_back(name);
    values.push_back(value);
  }
  h5::write_strings(group, "names", names);
  h5::write_vector(group, "values", values);
}

MemberFile read_member_body(hid_t loc, int version, bool load_tensors) {
  MemberFile m;
  m.format_version = version;
  m.id = h5::read_attr_int(loc, "member_id");
  m.generation = h5::read_attr_int64(loc, "generation");
  m.train_seed = h5::read_attr_uint64(loc, "train_seed");
  m.genome = h5::read_vector<int>(loc, "genome");
  m.genome_options = h5::read_strings(loc, "genome_options");
  m.fitness = h5::read_vector<double>(loc, "fitness");
  m.state = read_named_state(loc, version, load_tensors);
  if (h5::link_exists(loc, "evaluation")) {
    Handle group = h5::open_group(loc, "evaluation");
    const auto names = h5::read_strings(group, "names");
    const auto values = h5::read_vector<double>(group, "values");
    if (names.size() != values.size()) throw Failure("evaluation/names and evaluation/values differ in length");
    for (std::size_t i = 0; i < names.size(); ++i) m.evaluation.emplace_back(names[i], values[i]);
  }
  return m;
}

}  // namespace detail
}  // namespace pbtnas::io
