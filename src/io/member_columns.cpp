// Shard format version 2: a shard's members as columns (include/pbtnas/io/member_columns.hpp).
#include "pbtnas/io/member_columns.hpp"

#include "pbtnas/index/run_dir.hpp"

namespace pbtnas::io::detail {

using h5::Failure;

namespace {

template <typename T>
std::vector<T> slice(const std::vector<T>& v, std::int64_t begin, std::int64_t end) {
  return std::vector<T>(v.begin() + static_cast<std::ptrdiff_t>(begin), v.begin() + static_cast<std::ptrdiff_t>(end));
}

// Row starts of a flat column: M + 1 non-decreasing offsets from 0 to the column's length.
void check_starts(const std::vector<std::int64_t>& starts, std::size_t rows, std::size_t length,
                  const std::string& name) {
  if (starts.size() != rows + 1)
    throw Failure("'" + name + "' has " + std::to_string(starts.size()) + " entries for " + std::to_string(rows) +
                  " members (expected one more than the members)");
  if (starts.front() != 0 || starts.back() != static_cast<std::int64_t>(length))
    throw Failure("'" + name + "' does not span its column of " + std::to_string(length) + " entries");
  for (std::size_t i = 0; i + 1 < starts.size(); ++i)
    if (starts[i + 1] < starts[i]) throw Failure("'" + name + "' decreases at member row " + std::to_string(i));
}

}  // namespace

void write_shard_columns(hid_t file, const std::vector<MemberFile>& members) {
  std::vector<std::int64_t> ids, generations, genome, genome_starts{0}, options_starts{0}, fitness_starts{0},
      tensor_starts{0}, evaluation_starts{0};
  std::vector<std::uint64_t> seeds;
  std::vector<std::string> options, names, evaluation_names;
  std::vector<double> fitness, evaluation_values;
  NamedState all;  // every member's tensors, named member_007.<name> (unique within the shard)
  for (const MemberFile& m : members) {
    ids.push_back(m.id);
    generations.push_back(m.generation);
    seeds.push_back(m.train_seed);
    genome.insert(genome.end(), m.genome.begin(), m.genome.end());
    genome_starts.push_back(static_cast<std::int64_t>(genome.size()));
    options.insert(options.end(), m.genome_options.begin(), m.genome_options.end());  // may be empty
    options_starts.push_back(static_cast<std::int64_t>(options.size()));
    fitness.insert(fitness.end(), m.fitness.begin(), m.fitness.end());
    fitness_starts.push_back(static_cast<std::int64_t>(fitness.size()));
    const std::string prefix = member_group_name(m.id) + ".";
    for (const auto& nt : m.state) {
      names.push_back(nt.name);
      all.push_back({prefix + nt.name, nt.tensor});
    }
    tensor_starts.push_back(static_cast<std::int64_t>(names.size()));
    for (const auto& [name, value] : m.evaluation) {
      evaluation_names.push_back(name);
      evaluation_values.push_back(value);
    }
    evaluation_starts.push_back(static_cast<std::int64_t>(evaluation_names.size()));
  }
  h5::write_vector(file, "member_ids", ids);
  h5::write_vector(file, "generations", generations);
  h5::write_vector(file, "train_seeds", seeds);
  h5::write_vector(file, "genome", genome);
  h5::write_vector(file, "genome_starts", genome_starts);
  h5::write_strings(file, "genome_options", options);
  h5::write_vector(file, "genome_options_starts", options_starts);
  h5::write_vector(file, "fitness", fitness);
  h5::write_vector(file, "fitness_starts", fitness_starts);
  h5::write_strings(file, "tensor_names", names);
  h5::write_vector(file, "tensor_starts", tensor_starts);
  h5::write_strings(file, "evaluation_names", evaluation_names);
  h5::write_vector(file, "evaluation_values", evaluation_values);
  h5::write_vector(file, "evaluation_starts", evaluation_starts);
  write_state(file, all);
}

ShardColumns::ShardColumns(hid_t file) : file_(file) {
  ids_ = h5::read_vector<std::int64_t>(file, "member_ids");
  generations_ = h5::read_vector<std::int64_t>(file, "generations");
  seeds_ = h5::read_vector<std::uint64_t>(file, "train_seeds");
  genome_ = h5::read_vector<std::int64_t>(file, "genome");
  genome_starts_ = h5::read_vector<std::int64_t>(file, "genome_starts");
  options_ = h5::read_strings(file, "genome_options");
  options_starts_ = h5::read_vector<std::int64_t>(file, "genome_options_starts");
  fitness_ = h5::read_vector<double>(file, "fitness");
  fitness_starts_ = h5::read_vector<std::int64_t>(file, "fitness_starts");
  names_ = h5::read_strings(file, "tensor_names");
  tensor_starts_ = h5::read_vector<std::int64_t>(file, "tensor_starts");
  evaluation_names_ = h5::read_strings(file, "evaluation_names");
  evaluation_values_ = h5::read_vector<double>(file, "evaluation_values");
  evaluation_starts_ = h5::read_vector<std::int64_t>(file, "evaluation_starts");
  const std::size_t rows = ids_.size();
  if (generations_.size() != rows || seeds_.size() != rows)
    throw Failure("member_ids, generations and train_seeds differ in length");
  if (evaluation_values_.size() != evaluation_names_.size())
    throw Failure("evaluation_names and evaluation_values differ in length");
  check_starts(genome_starts_, rows, genome_.size(), "genome_starts");
  check_starts(options_starts_, rows, options_.size(), "genome_options_starts");
  check_starts(fitness_starts_, rows, fitness_.size(), "fitness_starts");
  check_starts(tensor_starts_, rows, names_.size(), "tensor_starts");
  check_starts(evaluation_starts_, rows, evaluation_names_.size(), "evaluation_starts");
  for (std::size_t r = 0; r < rows; ++r)
    if (!row_of_group_.emplace(member_group_name(static_cast<int>(ids_[r])), r).second)
      throw Failure("member " + std::to_string(ids_[r]) + " appears twice in member_ids");
}

ShardColumns::~ShardColumns() = default;

MemberFile ShardColumns::read(const std::string& group, bool load_tensors) {
  const auto at = row_of_group_.find(group);
  if (at == row_of_group_.end()) throw Failure("its member '" + group + "' is missing from the shard's member_ids");
  const std::size_t r = at->second;
  MemberFile m;
  m.format_version = kMemberFormatVersion;
  m.id = static_cast<int>(ids_[r]);
  m.generation = generations_[r];
  m.train_seed = seeds_[r];
  for (std::int64_t i = genome_starts_[r]; i < genome_starts_[r + 1]; ++i)
    m.genome.push_back(static_cast<int>(genome_[static_cast<std::size_t>(i)]));
  m.genome_options = slice(options_, options_starts_[r], options_starts_[r + 1]);
  m.fitness = slice(fitness_, fitness_starts_[r], fitness_starts_[r + 1]);
  for (std::int64_t i = evaluation_starts_[r]; i < evaluation_starts_[r + 1]; ++i)
    m.evaluation.emplace_back(evaluation_names_[static_cast<std::size_t>(i)],
                              evaluation_values_[static_cast<std::size_t>(i)]);
  if (load_tensors && !state_) {
    std::vector<std::string> table_names;  // as write_shard_columns named them in the table
    table_names.reserve(names_.size());
    for (std::size_t row = 0; row < ids_.size(); ++row)
      for (std::int64_t i = tensor_starts_[row]; i < tensor_starts_[row + 1]; ++i)
        table_names.push_back(member_group_name(static_cast<int>(ids_[row])) + "." +
                              names_[static_cast<std::size_t>(i)]);
    state_ = std::make_unique<StateReader>(file_, table_names);
  }
  for (std::int64_t i = tensor_starts_[r]; i < tensor_starts_[r + 1]; ++i) {
    const auto row = static_cast<std::size_t>(i);
    m.state.push_back({names_[row], load_tensors ? state_->tensor(row) : torch::Tensor()});
  }
  return m;
}

}  // namespace pbtnas::io::detail
