// The checkpoint directory of a run: naming, commit, verification, pruning, resume cleanup.
#include "pbtnas/index/run_dir.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <vector>

#include "pbtnas/index/file_util.hpp"
#include "pbtnas/util/files.hpp"

namespace fs = std::filesystem;

namespace pbtnas::io {
namespace {

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// Removes a generation directory, index.h5 first: a half-deleted directory is uncommitted.
// Generation directories are flat (files only), so no recursive removal is needed.
void remove_generation_dir(const fs::path& dir) {
  std::error_code ec;
  fs::remove(dir / "index.h5", ec);
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) files.push_back(it->path());
  for (const auto& f : files)
    if (!ec) fs::remove(f, ec);
  if (!ec) fs::remove(dir, ec);
  if (ec)
    throw CheckpointError("cannot delete " + dir.string() + ": " + ec.message() +
                          "; delete it by hand");
}

// "member 3", "shared state", "the shard of a worker's members" for messages about a listed file.
std::string file_role(const FileEntry& f) {
  if (f.member >= 0) return "member " + std::to_string(f.member);
  if (f.member == kShardFileMember) return "a worker's members";
  return "the population's shared state";
}

const std::string kPrunedPrefix = ".pruned_";

// Takes generation `g` out of the run at once, to be deleted later: index.h5 first (so the
// directory is no longer committed, as remove_generation_dir does), then the directory is renamed
// to checkpoints/.pruned_gen_NNNNNN, which nothing reads as a generation. Returns the new path.
std::string take_out_of_run(const std::string& out, std::int64_t g) {
  const fs::path dir = generation_dir(out, g);
  const fs::path to = fs::path(checkpoints_dir(out)) / (kPrunedPrefix + dir.filename().string());
  std::error_code ec;
  fs::remove(dir / "index.h5", ec);
  if (fs::exists(to, ec)) fs::remove_all(to, ec);
  fs::rename(dir, to, ec);
  if (ec)
    throw CheckpointError("cannot move " + dir.string() + " out of the run to delete it: " +
                          ec.message() + "; delete it by hand");
  return to.string();
}

void remove_tmp_files(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if ((it->path().extension() == ".tmp" ||  // PATH.tmp, or temporary_name's PATH.tmp.HOST.PID.TID
         it->path().filename().string().find(".tmp.") != std::string::npos) &&
        it->is_regular_file())
      fs::remove(it->path(), ec);
}

}  // namespace

namespace detail {

std::int64_t parse_generation_dir_name(const std::string& name) {
  if (name.size() <= 4 || name.compare(0, 4, "gen_") != 0 || name.size() > 4 + 18) return -1;
  for (std::size_t i = 4; i < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return -1;
  return std::stoll(name.substr(4));
}

void verify_files(const std::string& dir, std::int64_t gen, const GenerationIndex& index,
                  bool check_crc) {
  const std::string index_path = (fs::path(dir) / "index.h5").string();
  const std::string advice = "; delete generation dir " + dir +
                             " to resume from the previous generation, or restore the file";
  if (index.generation != gen)
    throw CheckpointError(index_path + " says generation " + std::to_string(index.generation) +
                          " but lies in the directory of generation " + std::to_string(gen) +
                          "; the directory was renamed or copied; rename it back or delete it");
  std::set<std::string> listed;
  for (const auto& f : index.files) listed.insert(f.file);
  const std::map<int, MemberLocation> where = member_locations(index);
  for (const auto& m : index.members) {
    const auto at = where.find(m.id);
    if (at == where.end() || !listed.count(at->second.file))
      throw CheckpointError(index_path + " lists no file for member " + std::to_string(m.id) +
                            "; the index is inconsistent" + advice);
  }
  for (const auto& f : index.files) {
    if (f.file.empty() || f.file.find('/') != std::string::npos || f.file == "." || f.file == "..")
      throw CheckpointError(index_path + " lists an invalid file name '" + f.file + "'" + advice);
    const std::string path = (fs::path(dir) / f.file).string();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
      throw CheckpointError(path + " is missing (" + file_role(f) + ", listed in index.h5)" + advice);
    const std::uint64_t size = fs::file_size(path, ec);
    if (ec || size != f.bytes)
      throw CheckpointError(path + " is truncated or corrupted (size " + std::to_string(size) +
                            ", expected " + std::to_string(f.bytes) + " per index.h5)" + advice);
    if (!check_crc) continue;
    const FileDigest d = digest_file(path);
    if (d.bytes != f.bytes || d.crc32 != f.crc32)
      throw CheckpointError(path + " is corrupted (CRC-32 " + hex32(d.crc32) + ", expected " +
                            hex32(f.crc32) + " per index.h5)" + advice);
  }
}

}  // namespace detail

std::string checkpoints_dir(const std::string& out) {
  return (fs::path(out) / "checkpoints").string();
}

std::string generation_dir(const std::string& out, std::int64_t gen) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "gen_%06lld", static_cast<long long>(gen));
  return (fs::path(out) / "checkpoints" / buf).string();
}

std::string best_ever_file_path(const std::string& out) { return (fs::path(out) / "best_ever.h5").string(); }

std::string sample_grid_path(const std::string& out, std::int64_t gen, int id) {
  char dir[32], file[32];
  std::snprintf(dir, sizeof dir, "gen_%06lld", static_cast<long long>(gen));
  std::snprintf(file, sizeof file, "member_%03d.png", id);
  return (fs::path(out) / "samples" / dir / file).string();
}

std::string final_grid_path(const std::string& out) { return (fs::path(out) / "samples" / "final_best.png").string(); }

std::string member_file_name(int id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "member_%03d.h5", id);
  return buf;
}

std::string member_file_path(const std::string& out, std::int64_t gen, int id) {
  return (fs::path(generation_dir(out, gen)) / member_file_name(id)).string();
}

std::string shard_file_name(int rank) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "shard_%03d.h5", rank);
  return buf;
}

std::string shard_file_path(const std::string& out, std::int64_t gen, int rank) {
  return (fs::path(generation_dir(out, gen)) / shard_file_name(rank)).string();
}

std::string member_group_name(int id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "member_%03d", id);
  return buf;
}

std::string index_file_path(const std::string& out, std::int64_t gen) {
  return (fs::path(generation_dir(out, gen)) / "index.h5").string();
}

FileEntry describe_file(int member, const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw CheckpointError("cannot describe member file " + path +
                          ": it does not exist; was it written by the member's worker?");
  const detail::FileDigest d = detail::digest_file(path);
  return FileEntry{member, fs::path(path).filename().string(), d.bytes, d.crc32};
}

void copy_file_atomic(const std::string& from, const std::string& to) {
  const std::string tmp = to + ".tmp";
  try {
    detail::ensure_parent_dir(to);
    {
      std::ifstream in(from, std::ios::binary);
      if (!in) throw h5::Failure("cannot read " + from);
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << in.rdbuf();
      out.close();
      if (!out || in.bad()) throw h5::Failure("cannot copy " + from + " to " + tmp);
    }
    detail::publish(tmp, to);
  } catch (const h5::Failure& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw CheckpointError(std::string(e.what()) + "; check that the directory is writable and has free space");
  }
}

void write_text_file_atomic(const std::string& path, const std::string& text) {
  try {
    pbtnas::write_text_file_atomic(path, text);  // util/files.hpp: the one atomic text writer
  } catch (const std::runtime_error& e) {
    throw CheckpointError(std::string(e.what()) +
                          "; check that the directory is writable and has free space");
  }
}

namespace {
void check_generation(const std::string& out, std::int64_t gen, bool check_crc) {
  const std::string dir = generation_dir(out, gen);
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw CheckpointError("generation directory " + dir + " does not exist");
  const std::string index_path = index_file_path(out, gen);
  if (!fs::exists(index_path, ec))
    throw CheckpointError(index_path + " is missing: generation " + std::to_string(gen) +
                          " was never committed (the run stopped before the coordinator wrote "
                          "the index); resume uses the previous generation");
  const GenerationIndex index = read_index(index_path);
  detail::verify_files(dir, gen, index, check_crc);
}

// The generations a commit of `gen` prunes. The window of `keep` verified generations is filled
// newest first (`gen` itself always counts); only when it is full are the directories older than
// its oldest member pruned (a generation that fails verification and lies inside the window is
// left for the user to inspect or repair). The window's generations are checked for their index
// and every file's presence and size, not re-read for their CRC: that read every byte of the
// previous generation back on rank 0 at each commit (most of the commit at large N); a flipped
// bit is caught when a file is read.
std::vector<std::int64_t> generations_to_prune(const std::string& out, std::int64_t gen, int keep) {
  if (keep <= 0) return {};
  int kept = 1;
  std::int64_t oldest_kept = gen;
  const std::vector<std::int64_t> gens = list_generation_dirs(out);
  for (auto it = gens.rbegin(); it != gens.rend() && kept < keep; ++it) {
    if (*it >= gen) continue;
    try {
      check_generation(out, *it, /*check_crc=*/false);
      ++kept;
      oldest_kept = *it;
    } catch (const CheckpointError&) {
    }
  }
  std::vector<std::int64_t> older;
  if (kept < keep) return older;
  for (std::int64_t g : gens)
    if (g < oldest_kept) older.push_back(g);
  return older;
}
}  // namespace

void commit_generation(const std::string& out, const GenerationIndex& index, int keep,
                       std::vector<std::string>* pruned) {
  const std::int64_t gen = index.generation;
  const std::string dir = generation_dir(out, gen);
  try {
    detail::verify_files(dir, gen, index, /*check_crc=*/false);
  } catch (const CheckpointError& e) {
    throw CheckpointError("cannot commit generation " + std::to_string(gen) + ": " + e.what());
  }
  write_index(index_file_path(out, gen), index);
  write_text_file_atomic((fs::path(checkpoints_dir(out)) / "LATEST").string(),
                         std::to_string(gen) + "\n");
  remove_tmp_files(dir);
  // Pruned directories are first taken out of the run (take_out_of_run), then deleted: here, or
  // by the caller when it passed `pruned`. Directories an earlier process took out but did not
  // finish deleting are collected first.
  std::vector<std::string> out_of_run;
  {
    std::error_code ec;
    for (fs::directory_iterator it(checkpoints_dir(out), ec), end; !ec && it != end; it.increment(ec))
      if (it->path().filename().string().rfind(kPrunedPrefix, 0) == 0) out_of_run.push_back(it->path().string());
  }
  for (std::int64_t g : generations_to_prune(out, gen, keep)) {
    std::string to = take_out_of_run(out, g);  // may reuse a leftover's name, listed already
    if (std::find(out_of_run.begin(), out_of_run.end(), to) == out_of_run.end()) out_of_run.push_back(std::move(to));
  }
  if (pruned)
    pruned->insert(pruned->end(), out_of_run.begin(), out_of_run.end());
  else
    remove_pruned(out_of_run);
}

void remove_pruned(const std::vector<std::string>& dirs) {
  for (const auto& d : dirs) {
    std::error_code ec;
    fs::remove_all(d, ec);
    if (ec) throw CheckpointError("cannot delete " + d + ": " + ec.message() + "; delete it by hand");
  }
}


void verify_generation(const std::string& out, std::int64_t gen) {
  check_generation(out, gen, /*check_crc=*/true);
}

std::vector<std::int64_t> list_generation_dirs(const std::string& out) {
  std::vector<std::int64_t> gens;
  std::error_code ec;
  for (fs::directory_iterator it(checkpoints_dir(out), ec), end; !ec && it != end;
       it.increment(ec)) {
    std::int64_t g = detail::parse_generation_dir_name(it->path().filename().string());
    if (g >= 0 && it->is_directory()) gens.push_back(g);
  }
  std::sort(gens.begin(), gens.end());
  return gens;
}

std::optional<std::int64_t> resume_generation(const std::string& out, const SkipReporter& on_skip) {
  std::vector<std::int64_t> gens = list_generation_dirs(out);
  for (auto it = gens.rbegin(); it != gens.rend(); ++it) {
    std::error_code ec;
    if (!fs::exists(index_file_path(out, *it), ec)) {
      if (on_skip)
        on_skip(*it, generation_dir(out, *it) + "/index.h5 is missing: the run stopped before committing it; it "
                     "will be discarded");
      continue;
    }
    try {
      verify_generation(out, *it);
    } catch (const CheckpointError& e) {
      bool older = false;
      for (auto o = std::next(it); o != gens.rend() && !older; ++o) older = fs::exists(index_file_path(out, *o), ec);
      throw CheckpointError(
          std::string(e.what()) + "\nNothing was changed in " + out + ". " +
          (older ? "To resume from the previous committed generation instead, move " + generation_dir(out, *it) +
                       " out of the way and run again."
                 : "The advice to delete the generation does not apply here: no older committed generation is "
                   "left (checkpoint.keep pruned them, or this is the first), so deleting or moving " +
                       generation_dir(out, *it) + " would start the run afresh and reset its logs (metrics.jsonl, "
                       "generations.jsonl, workers.jsonl). Restore the file if you can, or start again with a new "
                       "--out."));
    }
    return *it;
  }
  return std::nullopt;
}

void discard_uncommitted(const std::string& out, std::int64_t after_gen) {
  for (std::int64_t g : list_generation_dirs(out))
    if (g > after_gen) remove_generation_dir(generation_dir(out, g));
  const fs::path root = checkpoints_dir(out);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return;
  remove_tmp_files(root);
  if (after_gen >= 0)
    write_text_file_atomic((root / "LATEST").string(), std::to_string(after_gen) + "\n");
  else
    fs::remove(root / "LATEST", ec);
}

}  // namespace pbtnas::io
