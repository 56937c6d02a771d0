// Shard files: a worker's members of one generation in one HDF5 file: as columns (version 2) or a
// group per member (version 1, still read).
#include "pbtnas/io/member_shard.hpp"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "pbtnas/index/file_util.hpp"
#include "pbtnas/index/h5_util.hpp"
#include "pbtnas/index/run_dir.hpp"
#include "pbtnas/io/member_columns.hpp"
#include "pbtnas/io/member_state.hpp"

namespace pbtnas::io {

using h5::Failure;
using h5::Handle;

ShardEntry write_member_shard(const std::string& path, std::int64_t generation, int rank,
                              const std::vector<MemberFile>& members, Durability durability, int version) {
  if (version < 1 || version > kShardFormatVersion)
    throw std::invalid_argument("write_member_shard: shard format version " + std::to_string(version) +
                                " does not exist (1.." + std::to_string(kShardFormatVersion) + ")");
  h5::Lock lock(h5::library_mutex());
  h5::silence_errors();
  std::size_t bytes = 0;
  for (const auto& m : members) {
    detail::check_member(m, path + " (member " + std::to_string(m.id) + ")");
    bytes += state_bytes(m.state);
  }
  ShardEntry entry;
  const std::string name = std::filesystem::path(path).filename().string();
  std::string current;  // the member being written, for the error message
  try {
    const detail::FileDigest digest = detail::write_h5_atomic(path, [&](hid_t file) {
      h5::write_attr_string(file, "format", kShardFormat);
      h5::write_attr_int64(file, "format_version", version);
      h5::write_attr_int64(file, "generation", generation);
      h5::write_attr_int64(file, "rank", rank);
      if (version >= 2) {
        detail::write_shard_columns(file, members);
        for (const auto& m : members) entry.locations.push_back({m.id, name, member_group_name(m.id)});
        return;
      }
      for (const auto& m : members) {
        current = " (member " + std::to_string(m.id) + ")";
        const std::string group_name = member_group_name(m.id);
        Handle group = h5::create_group(file, group_name);
        detail::write_member_body(group, m);
        entry.locations.push_back({m.id, name, group_name});
      }
      current.clear();
    }, durability == Durability::Synced, bytes);
    entry.file = FileEntry{kShardFileMember, name, digest.bytes, digest.crc32};
    return entry;
  } catch (const Failure& e) {
    throw CheckpointError("cannot write shard " + path + current + ": " + e.what() +
                          "; check that the directory is writable and has free space");
  }
}

struct MemberReader::Open {
  std::string name;    // file name in the generation directory
  std::string format;  // kMemberFormat or kShardFormat
  int version = 0;
  Handle file;
  std::unique_ptr<detail::ShardColumns> columns;  // a version-2 shard's, once read (closed before `file`)
};

MemberReader::MemberReader(std::string dir, bool check_crc) : dir_(std::move(dir)), check_crc_(check_crc) {}

MemberReader::~MemberReader() {
  h5::Lock lock(h5::library_mutex());
  open_.reset();
}

MemberFile MemberReader::read(const MemberLocation& where, bool load_tensors) {
  h5::Lock lock(h5::library_mutex());
  const std::string path = (std::filesystem::path(dir_) / where.file).string();
  const std::string member = "member " + std::to_string(where.member);
  if (!open_ || open_->name != where.file) {
    open_.reset();
    auto o = std::make_unique<Open>();
    o->name = where.file;
    o->file = detail::open_checkpoint(path, where.group.empty() ? kMemberFormat : kShardFormat, &o->format,
                                      check_crc_);
    o->version = h5::read_attr_int(o->file, "format_version");
    open_ = std::move(o);
  }
  try {
    MemberFile m;
    if (where.group.empty()) {
      m = detail::read_member_body(open_->file, open_->version, load_tensors);
    } else if (open_->version >= 2) {
      if (!open_->columns) open_->columns = std::make_unique<detail::ShardColumns>(open_->file);
      m = open_->columns->read(where.group, load_tensors);
    } else {
      if (!h5::link_exists(open_->file, where.group)) throw Failure("its group '" + where.group + "' is missing");
      Handle group = h5::open_group(open_->file, where.group);
      m = detail::read_member_body(group, kMemberFormatVersion, load_tensors);
    }
    if (m.id != where.member) throw Failure("it holds member " + std::to_string(m.id));
    return m;
  } catch (const Failure& e) {
    throw CheckpointError(path + (where.group.empty() ? "" : ", group " + where.group) + " (" + member +
                          ") is damaged or incomplete (" + e.what() + ")" + detail::damaged_file_advice(path));
  }
}

std::map<int, MemberFile> read_members(const std::string& out, const GenerationIndex& index,
                                       const std::vector<int>& ids, bool load_tensors) {
  const std::map<int, MemberLocation> where = member_locations(index);
  std::vector<MemberLocation> wanted;
  for (int id : ids) {
    const auto at = where.find(id);
    if (at == where.end()) wanted.push_back(locate_member(index, id));  // throws, naming the member
    else wanted.push_back(at->second);
  }
  // Grouped by file, so that each file is opened (and its CRC checked) once.
  std::stable_sort(wanted.begin(), wanted.end(),
                   [](const MemberLocation& a, const MemberLocation& b) { return a.file < b.file; });
  MemberReader reader(generation_dir(out, index.generation));
  std::map<int, MemberFile> members;
  for (const auto& w : wanted) members[w.member] = reader.read(w, load_tensors);
  return members;
}

MemberFile read_committed_member(const std::string& out, std::int64_t gen, int id, bool load_tensors) {
  const GenerationIndex index = read_index(index_file_path(out, gen));
  MemberReader reader(generation_dir(out, gen));
  return reader.read(locate_member(index, id), load_tensors);
}

namespace {
// Member id of a name member_NNN.h5, or -1.
int member_id_of_name(const std::string& name) {
  if (name.size() < 11 || name.compare(0, 7, "member_") != 0 || name.compare(name.size() - 3, 3, ".h5") != 0)
    return -1;
  const std::string digits = name.substr(7, name.size() - 10);
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoi(digits);
}
}  // namespace

bool is_member_in_index(const std::string& path) {
  const std::filesystem::path p(path);
  std::error_code ec;
  return !std::filesystem::exists(p, ec) && member_id_of_name(p.filename().string()) >= 0 &&
         std::filesystem::exists(p.parent_path() / "index.h5", ec);
}

MemberFile read_member_path(const std::string& path, bool load_tensors) {
  if (!is_member_in_index(path)) return read_member_file(path, load_tensors);
  const std::filesystem::path p(path);
  const GenerationIndex index = read_index((p.parent_path() / "index.h5").string());
  MemberReader reader(p.parent_path().string());
  return reader.read(locate_member(index, member_id_of_name(p.filename().string())), load_tensors);
}

}  // namespace pbtnas::io
