// Member files (one member each) and shared state files (pool.h5).
#include "pbtnas/io/member_file.hpp"

#include <filesystem>

#include "pbtnas/index/file_util.hpp"
#include "pbtnas/index/h5_util.hpp"
#include "pbtnas/index/run_dir.hpp"
#include "pbtnas/io/inspect.hpp"
#include "pbtnas/io/member_state.hpp"

namespace pbtnas::io {

using h5::Failure;
using h5::Handle;

FileEntry write_member_file(const std::string& path, const MemberFile& m, Durability durability) {
  h5::Lock lock(h5::library_mutex());
  h5::silence_errors();
  detail::check_member(m, path);
  try {
    const detail::FileDigest digest = detail::write_h5_atomic(path, [&](hid_t file) {
      h5::write_attr_string(file, "format", kMemberFormat);
      h5::write_attr_int64(file, "format_version", kMemberFormatVersion);
      detail::write_member_body(file, m);
    }, durability == Durability::Synced, state_bytes(m.state));
    return FileEntry{m.id, std::filesystem::path(path).filename().string(), digest.bytes, digest.crc32};
  } catch (const Failure& e) {
    throw CheckpointError("cannot write member file " + path + ": " + e.what() +
                          "; check that the directory is writable and has free space");
  }
}

void sync_member_files(const std::vector<std::string>& paths) {
  try {
    detail::sync_files(paths);
  } catch (const Failure& e) {
    throw CheckpointError(std::string("cannot make the member files durable: ") + e.what() +
                          "; check that the directory is writable and has free space");
  }
}

MemberFile read_member_file(const std::string& path, bool load_tensors) {
  h5::Lock lock(h5::library_mutex());
  Handle file = detail::open_checkpoint(path, kMemberFormat);
  try {
    return detail::read_member_body(file, h5::read_attr_int(file, "format_version"), load_tensors);
  } catch (const Failure& e) {
    throw CheckpointError(path + " is damaged or incomplete (" + std::string(e.what()) + ")" +
                          detail::damaged_file_advice(path));
  }
}

std::string shared_file_name(const std::string& name) { return name + ".h5"; }

std::string shared_file_path(const std::string& out, std::int64_t gen, const std::string& name) {
  return (std::filesystem::path(generation_dir(out, gen)) / shared_file_name(name)).string();
}

FileEntry write_shared_file(const std::string& path, const SharedFile& f, Durability durability) {
  h5::Lock lock(h5::library_mutex());
  h5::silence_errors();
  for (const auto& nt : f.state)
    if (nt.tensor.defined()) dtype_name(nt.tensor.scalar_type());
  try {
    const detail::FileDigest digest = detail::write_h5_atomic(path, [&](hid_t file) {
      h5::write_attr_string(file, "format", kSharedFormat);
      h5::write_attr_int64(file, "format_version", kMemberFormatVersion);
      h5::write_attr_string(file, "name", f.name);
      h5::write_attr_int64(file, "generation", f.generation);
      detail::write_named_state(file, f.state);
    }, durability == Durability::Synced, state_bytes(f.state));
    return FileEntry{kSharedFileMember, std::filesystem::path(path).filename().string(), digest.bytes, digest.crc32};
  } catch (const Failure& e) {
    throw CheckpointError("cannot write " + path + ": " + e.what() +
                          "; check that the directory is writable and has free space");
  }
}

SharedFile read_shared_file(const std::string& path, bool load_tensors) {
  h5::Lock lock(h5::library_mutex());
  Handle file = detail::open_checkpoint(path, kSharedFormat);
  try {
    SharedFile f;
    f.format_version = h5::read_attr_int(file, "format_version");
    f.name = h5::read_attr_string(file, "name");
    f.generation = h5::read_attr_int64(file, "generation");
    f.state = detail::read_named_state(file, f.format_version, load_tensors);
    return f;
  } catch (const Failure& e) {
    throw CheckpointError(path + " is damaged or incomplete (" + std::string(e.what()) + ")" +
                          detail::damaged_file_advice(path));
  }
}

}  // namespace pbtnas::io
