// index.h5: the coordinator's bookkeeping of one generation.
#include <cstdio>
#include <map>
#include <set>

#include "pbtnas/index/file_util.hpp"
#include "pbtnas/index/h5_util.hpp"
#include "pbtnas/index/generation_index.hpp"

namespace pbtnas::io {
namespace {

using h5::Failure;
using h5::Handle;

const std::vector<std::string> kKindNames = {"Initial", "Mix", "Clone", "WeightMutation",
                                             "ArchMutation"};

std::string member_group_name(int id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%03d", id);
  return buf;
}

// Format 2: one column per field under /members (HDF5's cost is per object, so a group per
// member made index.h5 the slowest part of rank 0's commit at large N); docs/checkpoint-format.md.
// Format 3: where each member lies, in /member_ids order: the row of /files holding it and the
// group in that file ("" = the file's root, a member file); -1: placed nowhere.
void write_locations(hid_t group, const GenerationIndex& index) {
  std::map<std::string, int> rows;
  for (std::size_t i = 0; i < index.files.size(); ++i) rows.emplace(index.files[i].file, static_cast<int>(i));
  const std::map<int, MemberLocation> where = member_locations(index);
  std::vector<int> file_rows;
  std::vector<std::string> groups;
  for (const auto& m : index.members) {
    const auto at = where.find(m.id);
    if (at == where.end()) {  // placed nowhere (yet): -1; commit_generation refuses such an index
      file_rows.push_back(-1);
      groups.emplace_back();
      continue;
    }
    const MemberLocation& loc = at->second;
    const auto row = rows.find(loc.file);
    if (row == rows.end())
      throw Failure("member " + std::to_string(m.id) + " lies in " + loc.file + ", which 'files' does not list");
    file_rows.push_back(row->second);
    groups.push_back(loc.group);
  }
  h5::write_vector(group, "file", file_rows);
  h5::write_strings(group, "group", groups);
}

std::vector<MemberLocation> read_locations(hid_t group, const std::vector<MemberRecord>& members,
                                           const std::vector<FileEntry>& files) {
  const auto file_rows = h5::read_vector<int>(group, "file");
  const auto groups = h5::read_strings(group, "group");
  if (file_rows.size() != members.size() || groups.size() != members.size())
    throw Failure("'members/file' and 'members/group' do not have one row per member id");
  std::vector<MemberLocation> locations;
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (file_rows[i] == -1) continue;  // placed nowhere: verification says so
    if (file_rows[i] < 0 || file_rows[i] >= static_cast<int>(files.size()))
      throw Failure("'members/file' row " + std::to_string(i) + " names no row of 'files'");
    locations.push_back({members[i].id, files[static_cast<std::size_t>(file_rows[i])].file, groups[i]});
  }
  return locations;
}

void write_members(hid_t file, const GenerationIndex& index, bool locations) {
  const std::vector<MemberRecord>& members = index.members;
  std::vector<int> ids;
  std::set<int> seen;
  std::vector<std::int64_t> incarnation, lineage_rows{0};
  std::vector<std::vector<int>> genome, lineage;
  std::vector<std::vector<double>> fitness;
  for (const auto& m : members) {
    if (m.id < 0 || !seen.insert(m.id).second)
      throw Failure("member id " + std::to_string(m.id) + " is negative or appears twice");
    ids.push_back(m.id);
    incarnation.push_back(m.incarnation);
    genome.push_back(m.genome);
    fitness.push_back(m.fitness);
    lineage.insert(lineage.end(), m.lineage.begin(), m.lineage.end());
    lineage_rows.push_back(static_cast<std::int64_t>(lineage.size()));
  }
  h5::write_vector(file, "member_ids", ids);
  Handle group = h5::create_group(file, "members");
  h5::write_vector(group, "incarnation", incarnation);
  h5::write_ragged(group, "genome", genome);
  h5::write_ragged(group, "fitness", fitness);
  h5::write_ragged(group, "lineage", lineage);
  h5::write_vector(group, "lineage_rows", lineage_rows);
  if (locations) write_locations(group, index);
}

std::vector<MemberRecord> read_members(hid_t file) {
  const auto ids = h5::read_vector<int>(file, "member_ids");
  const std::size_t n = ids.size();
  Handle group = h5::open_group(file, "members");
  auto incarnation = h5::read_vector<std::int64_t>(group, "incarnation");
  auto genome = h5::read_ragged(group, "genome");
  auto fitness = h5::read_ragged_doubles(group, "fitness");
  auto lineage = h5::read_ragged(group, "lineage");
  const auto rows = h5::read_vector<std::int64_t>(group, "lineage_rows");
  if (incarnation.size() != n || genome.size() != n || fitness.size() != n || rows.size() != n + 1)
    throw Failure("the datasets under 'members' do not have one row per member id");
  if (rows.front() != 0 || rows.back() != static_cast<std::int64_t>(lineage.size()))
    throw Failure("'members/lineage_rows' does not cover 'members/lineage'");
  std::set<int> seen;
  for (int id : ids)
    if (id < 0 || !seen.insert(id).second)
      throw Failure("'member_ids' holds " + std::to_string(id) + " twice, or negative");
  std::vector<MemberRecord> members(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (rows[i + 1] < rows[i]) throw Failure("'members/lineage_rows' is not increasing");
    MemberRecord& m = members[i];
    m.id = ids[i];
    m.incarnation = incarnation[i];
    m.genome = std::move(genome[i]);
    m.fitness = std::move(fitness[i]);
    for (std::int64_t r = rows[i]; r < rows[i + 1]; ++r) m.lineage.push_back(std::move(lineage[r]));
  }
  return members;
}

// Format 1: a group /members/NNN per member.
std::vector<MemberRecord> read_members_v1(hid_t file) {
  std::vector<MemberRecord> members;
  Handle group = h5::open_group(file, "members");
  for (int id : h5::read_vector<int>(file, "member_ids")) {
    const std::string name = member_group_name(id);
    if (!h5::link_exists(group, name)) throw Failure("group 'members/" + name + "' is missing");
    Handle g = h5::open_group(group, name);
    MemberRecord m;
    m.id = h5::read_attr_int(g, "id");
    if (m.id != id) throw Failure("group 'members/" + name + "' has id " + std::to_string(m.id));
    m.incarnation = h5::read_attr_int64(g, "incarnation");
    m.genome = h5::read_vector<int>(g, "genome");
    m.fitness = h5::read_vector<double>(g, "fitness");
    m.lineage = h5::read_ragged(g, "lineage");
    members.push_back(std::move(m));
  }
  return members;
}

void write_history(hid_t file, const std::vector<Incarnation>& history) {
  std::vector<std::int64_t> seq, birth, final_gen;
  std::vector<int> slot, p1, p2, kind;
  std::vector<std::vector<int>> changed, old_values, new_values;
  std::vector<double> final_fit;
  for (const auto& h : history) {
    seq.push_back(h.seq_id);
    slot.push_back(h.slot);
    birth.push_back(h.birth_generation);
    p1.push_back(h.parent1);
    p2.push_back(h.parent2);
    kind.push_back(static_cast<int>(h.kind));
    changed.push_back(h.changed_genes);
    old_values.push_back(h.old_values);
    new_values.push_back(h.new_values);
    final_gen.push_back(h.final_generation);
    final_fit.push_back(h.final_fitness);
  }
  Handle g = h5::create_group(file, "history");
  h5::write_vector(g, "seq_id", seq);
  h5::write_vector(g, "slot", slot);
  h5::write_vector(g, "birth_generation", birth);
  h5::write_vector(g, "parent1", p1);
  h5::write_vector(g, "parent2", p2);
  h5::write_vector(g, "kind", kind);
  {
    Handle k = h5::open_dataset(g, "kind");
    h5::write_attr_string_array(k, "names", kKindNames);
  }
  h5::write_ragged(g, "changed_genes", changed);
  h5::write_ragged(g, "old_values", old_values);
  h5::write_ragged(g, "new_values", new_values);
  h5::write_vector(g, "final_generation", final_gen);
  h5::write_vector(g, "final_fitness", final_fit);
}

template <typename T>
std::vector<T> read_column(hid_t g, const std::string& name, std::size_t n) {
  auto v = h5::read_vector<T>(g, name);
  if (v.size() != n)
    throw Failure("dataset 'history/" + name + "' has " + std::to_string(v.size()) +
                  " rows, expected " + std::to_string(n));
  return v;
}

std::vector<std::vector<int>> read_ragged_column(hid_t g, const std::string& name, std::size_t n) {
  auto v = h5::read_ragged(g, name);
  if (v.size() != n)
    throw Failure("dataset 'history/" + name + "' has " + std::to_string(v.size()) +
                  " rows, expected " + std::to_string(n));
  return v;
}

std::vector<Incarnation> read_history(hid_t file) {
  Handle g = h5::open_group(file, "history");
  auto seq = h5::read_vector<std::int64_t>(g, "seq_id");
  const std::size_t n = seq.size();
  auto slot = read_column<int>(g, "slot", n);
  auto birth = read_column<std::int64_t>(g, "birth_generation", n);
  auto p1 = read_column<int>(g, "parent1", n);
  auto p2 = read_column<int>(g, "parent2", n);
  auto kind = read_column<int>(g, "kind", n);
  auto changed = read_ragged_column(g, "changed_genes", n);
  auto old_values = read_ragged_column(g, "old_values", n);
  auto new_values = read_ragged_column(g, "new_values", n);
  auto final_gen = read_column<std::int64_t>(g, "final_generation", n);
  auto final_fit = read_column<double>(g, "final_fitness", n);
  std::vector<Incarnation> history(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (kind[i] < 0 || kind[i] >= static_cast<int>(kKindNames.size()))
      throw Failure("history row " + std::to_string(i) + " has unknown kind " +
                    std::to_string(kind[i]));
    Incarnation& h = history[i];
    h.seq_id = seq[i];
    h.slot = slot[i];
    h.birth_generation = birth[i];
    h.parent1 = p1[i];
    h.parent2 = p2[i];
    h.kind = static_cast<ChildKind>(kind[i]);
    h.changed_genes = std::move(changed[i]);
    h.old_values = std::move(old_values[i]);
    h.new_values = std::move(new_values[i]);
    h.final_generation = final_gen[i];
    h.final_fitness = final_fit[i];
  }
  return history;
}

void write_files(hid_t file, const std::vector<FileEntry>& files) {
  std::vector<int> member;
  std::vector<std::string> name;
  std::vector<std::uint64_t> bytes;
  std::vector<std::uint32_t> crc;
  for (const auto& f : files) {
    member.push_back(f.member);
    name.push_back(f.file);
    bytes.push_back(f.bytes);
    crc.push_back(f.crc32);
  }
  Handle g = h5::create_group(file, "files");
  h5::write_vector(g, "member", member);
  h5::write_strings(g, "file", name);
  h5::write_vector(g, "bytes", bytes);
  h5::write_vector(g, "crc32", crc);
}

std::vector<FileEntry> read_files(hid_t file) {
  Handle g = h5::open_group(file, "files");
  auto member = h5::read_vector<int>(g, "member");
  auto name = h5::read_strings(g, "file");
  auto bytes = h5::read_vector<std::uint64_t>(g, "bytes");
  auto crc = h5::read_vector<std::uint32_t>(g, "crc32");
  const std::size_t n = member.size();
  if (name.size() != n || bytes.size() != n || crc.size() != n)
    throw Failure("the datasets under 'files' have different lengths");
  std::vector<FileEntry> files(n);
  for (std::size_t i = 0; i < n; ++i) files[i] = {member[i], name[i], bytes[i], crc[i]};
  return files;
}

// A generous estimate of the data an index holds (it picks how the file is built and how its
// in-memory buffer grows; write_h5_atomic).
std::size_t estimated_bytes(const GenerationIndex& index) {
  std::size_t n = index.config_yaml.size() + 64 * index.gene_names.size();
  for (const auto& o : index.gene_options) n += 64 * o.size();
  for (const auto& m : index.members) {
    n += 64 + 8 * (m.genome.size() + m.fitness.size());
    for (const auto& l : m.lineage) n += 8 + 8 * l.size();
  }
  for (const auto& h : index.history) n += 96 + 12 * h.changed_genes.size();
  return n + 96 * index.files.size() + 48 * index.members.size();
}
}  // namespace

std::map<int, MemberLocation> member_locations(const GenerationIndex& index) {
  std::map<int, MemberLocation> where;
  for (const auto& f : index.files)
    if (f.member >= 0) where[f.member] = {f.member, f.file, ""};
  for (const auto& l : index.locations) where[l.member] = l;
  return where;
}

MemberLocation locate_member(const GenerationIndex& index, int id) {
  for (const auto& l : index.locations)
    if (l.member == id) return l;
  for (const auto& f : index.files)
    if (f.member == id) return {id, f.file, ""};
  throw CheckpointError("the index of generation " + std::to_string(index.generation) + " places member " +
                        std::to_string(id) + " in no file");
}

void write_index(const std::string& path, const GenerationIndex& index, int format_version) {
  if (format_version != kIndexFormatVersion && format_version != 2)
    throw CheckpointError("cannot write index " + path + " in format version " + std::to_string(format_version) +
                          "; pbtnas writes version " + std::to_string(kIndexFormatVersion) + " (or 2 for tests)");
  h5::Lock lock(h5::library_mutex());
  h5::silence_errors();
  try {
    detail::write_h5_atomic(path, [&](hid_t file) {
      h5::write_attr_string(file, "format", kIndexFormat);
      h5::write_attr_int64(file, "format_version", format_version);
      h5::write_attr_int64(file, "generation", index.generation);
      h5::write_attr_int64(file, "next_epoch", index.next_epoch);
      h5::write_attr_uint64(file, "seed", index.seed);
      h5::write_attr_string(file, "algorithm", index.algorithm);
      h5::write_attr_string(file, "space_name", index.space_name);
      h5::write_attr_int64(file, "population_size",
                           static_cast<std::int64_t>(index.members.size()));
      h5::write_attr_double(file, "best_ever_fitness", index.best_ever_fitness);
      h5::write_attr_int64(file, "best_ever_member", index.best_ever_member);
      h5::write_attr_int64(file, "best_ever_generation", index.best_ever_generation);
      h5::write_string_dataset(file, "config_yaml", index.config_yaml);
      {
        Handle space = h5::create_group(file, "space");
        h5::write_strings(space, "gene_names", index.gene_names);
        h5::write_ragged_strings(space, "gene_options", index.gene_options);
      }
      write_members(file, index, format_version >= 3);
      write_history(file, index.history);
      write_files(file, index.files);
    }, true, estimated_bytes(index));
  } catch (const Failure& e) {
    throw CheckpointError("cannot write index " + path + ": " + e.what() +
                          "; check that the directory is writable and has free space");
  }
}

GenerationIndex read_index(const std::string& path) {
  h5::Lock lock(h5::library_mutex());
  Handle file = detail::open_checkpoint(path, kIndexFormat);
  try {
    GenerationIndex index;
    index.format_version = h5::read_attr_int(file, "format_version");
    index.generation = h5::read_attr_int64(file, "generation");
    index.next_epoch = h5::read_attr_int(file, "next_epoch");
    index.seed = h5::read_attr_uint64(file, "seed");
    index.algorithm = h5::read_attr_string(file, "algorithm");
    index.space_name = h5::read_attr_string(file, "space_name");
    index.best_ever_fitness = h5::read_attr_double(file, "best_ever_fitness");
    index.best_ever_member = h5::read_attr_int(file, "best_ever_member");
    index.best_ever_generation = h5::read_attr_int64(file, "best_ever_generation");
    index.config_yaml = h5::read_string_dataset(file, "config_yaml");
    {
      Handle space = h5::open_group(file, "space");
      index.gene_names = h5::read_strings(space, "gene_names");
      index.gene_options = h5::read_ragged_strings(space, "gene_options");
    }
    index.members = index.format_version >= 2 ? read_members(file) : read_members_v1(file);
    index.history = read_history(file);
    index.files = read_files(file);
    if (index.format_version >= 3) {
      Handle members = h5::open_group(file, "members");
      index.locations = read_locations(members, index.members, index.files);
    }
    return index;
  } catch (const Failure& e) {
    throw CheckpointError(path + " is damaged or incomplete (" + std::string(e.what()) +
                          "); delete its generation directory to resume from the previous "
                          "generation, or restore the file");
  }
}

}  // namespace pbtnas::io
