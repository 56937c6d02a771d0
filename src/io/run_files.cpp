// The run directory as the coordinator's RunStore (H5RunStore); LogRunReport is in run_report_files.cpp.
#include "pbtnas/io/run_files.hpp"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "pbtnas/index/generation_index.hpp"
#include "pbtnas/io/member_file.hpp"
#include "pbtnas/io/member_shard.hpp"
#include "pbtnas/index/run_dir.hpp"

namespace pbtnas::io {

std::string run_folder_problem(const std::string& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (!fs::is_directory(out, ec))
      return "--out " + out + " is a file, not a folder; pass a folder path, new or holding this run";
    if (access(out.c_str(), W_OK) != 0)
      return "--out " + out + " is not writable; pass a folder that you can write";
    return "";
  }
  // The nearest existing parent must be a writable folder, so that the run folder can be created.
  fs::path parent = fs::absolute(fs::path(out), ec).parent_path();
  while (!parent.empty() && !fs::exists(parent, ec) && parent != parent.root_path()) parent = parent.parent_path();
  if (!fs::is_directory(parent, ec))
    return "cannot create the run folder --out " + out + ": " + parent.string() +
           " is not a folder; pass a folder path that can be created";
  if (access(parent.c_str(), W_OK) != 0)
    return "cannot create the run folder --out " + out + ": " + parent.string() +
           " is not writable; pass a folder path that can be created";
  return "";
}

// ---------------------------------------------------------------- H5RunStore

H5RunStore::H5RunStore(std::string out, const RunConfig& cfg, const SearchSpace& space, Logger& log,
                       ConfigCheck check)
    : out_(std::move(out)), cfg_(cfg), space_(space), log_(log), check_(std::move(check)) {
  if (out_.empty()) throw std::runtime_error("--out is empty; pass the run folder (created if needed)");
  // Nothing is created before the workers are ready (LogRunReport::started creates the folder).
  const std::string why = run_folder_problem(out_);
  if (!why.empty()) throw std::runtime_error(why);
}

std::optional<CommittedState> H5RunStore::resume() {
  if (!std::filesystem::exists(out_)) return std::nullopt;
  const auto g = resume_generation(out_, [this](std::int64_t, const std::string& why) { log_.info("resume: " + why); });
  if (!g) return std::nullopt;
  const GenerationIndex idx = read_index(index_file_path(out_, *g));
  if (check_) {
    const ConfigVerdict v = check_(idx.config_yaml, idx.next_epoch);
    if (!v.refusal.empty()) throw std::runtime_error(out_ + " " + v.refusal + " (pbtnas status " + out_ + ")");
    if (!v.note.empty()) log_.info("resume: " + v.note);
  } else if (idx.config_yaml != cfg_.source_text) {
    throw std::runtime_error(out_ + " holds a run made with another config (pbtnas status " + out_ +
                             "); use a new --out, or the same config to resume it");
  }
  restore_best_ever(idx);
  CommittedState s;
  s.generation = *g;
  s.members = idx.members;
  s.history = idx.history;
  s.best_ever = {idx.best_ever_fitness, idx.best_ever_member, idx.best_ever_generation};
  return s;
}

// best_ever.h5 must hold the member that the committed index names: it is copied right after
// each commit, so a process killed in between leaves it older (or absent), and an earlier pbtnas
// copied it before the commit, so it may hold a member of a generation that was never committed.
// The member's file of that generation is copied again. If that generation is gone (a resume
// from an older generation after a damaged one was moved away, or a file deleted by hand after
// pruning), the file is moved aside and the run ends without a best-ever evaluation.
void H5RunStore::restore_best_ever(const GenerationIndex& idx) {
  if (idx.best_ever_member < 0) return;
  const std::string path = best_ever_file_path(out_);
  const std::string wanted =
      "member " + std::to_string(idx.best_ever_member) + " of generation " + std::to_string(idx.best_ever_generation);
  std::string why;
  if (!std::filesystem::exists(path)) {
    why = "is missing";
  } else {
    try {
      const MemberFile m = read_member_file(path, /*load_tensors=*/false);
      if (m.id != idx.best_ever_member || m.generation != idx.best_ever_generation)
        why = "holds member " + std::to_string(m.id) + " of generation " + std::to_string(m.generation);
    } catch (const std::exception& e) {
      why = std::string("cannot be read (") + e.what() + ")";
    }
  }
  if (why.empty()) return;
  // Where the best-ever member's generation placed it, if that generation is still there.
  std::optional<MemberLocation> where;
  const std::string source_index = index_file_path(out_, idx.best_ever_generation);
  try {
    if (std::filesystem::exists(source_index)) where = locate_member(read_index(source_index), idx.best_ever_member);
  } catch (const CheckpointError&) {
  }
  const std::string source = where ? generation_dir(out_, idx.best_ever_generation) + "/" + where->file +
                                         (where->group.empty() ? "" : " (group " + where->group + ")")
                                   : member_file_path(out_, idx.best_ever_generation, idx.best_ever_member);
  if (!where || !std::filesystem::exists(generation_dir(out_, idx.best_ever_generation) + "/" + where->file)) {
    // Never evaluate another member under the best-ever's name: a wrong or damaged file is moved
    // aside (kept, not deleted), and the run ends without a best-ever evaluation.
    std::string moved;
    if (std::filesystem::exists(path)) {
      moved = path + ".mismatched";
      std::filesystem::rename(path, moved);
    }
    log_.warn("resume: " + path + " " + why + ", not the best-ever " + wanted + " that the index names, and " + source +
              " is gone (pruned, checkpoint.keep); the run will end without a final evaluation of the best-ever member" +
              (moved.empty() ? std::string() : " (the file was moved to " + moved + ")"));
    return;
  }
  copy_best_ever(idx.best_ever_generation, *where, /*check_crc=*/true);
  log_.info("resume: " + path + " " + why + ", not the best-ever " + wanted +
            " (the previous process stopped before keeping it); copied again from " + source);
}

H5RunStore::~H5RunStore() {
  try {
    join_pruner();
  } catch (...) {
  }
}

void H5RunStore::join_pruner() {
  if (pruner_.joinable()) pruner_.join();
  if (!pruner_error_.empty()) log_.warn("pruning older generations: " + pruner_error_);
  pruner_error_.clear();
}

void H5RunStore::discard_after(std::int64_t generation) {
  if (std::filesystem::exists(out_)) discard_uncommitted(out_, generation);
}

bool H5RunStore::finished() const {
  // A summary whose final evaluation failed (an "error" under best_ever or soup) does not count:
  // running the run again redoes that evaluation (a study relies on it).
  std::ifstream in(out_ + "/summary.json");
  if (!in) return false;
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object()) return false;
  for (const char* key : {"best_ever", "soup"})
    if (j.contains(key) && j[key].is_object() && j[key].contains("error")) return false;
  return true;
}

// best_ever.h5 is a member file: the member read from where its generation's index places it
// (a shard's group, or a member file of formats 1-2) and written on its own, atomically.
void H5RunStore::copy_best_ever(std::int64_t generation, const MemberLocation& where, bool check_crc) {
  MemberReader reader(generation_dir(out_, generation), check_crc);
  write_member_file(best_ever_file_path(out_), reader.read(where));
}

void H5RunStore::keep_best_ever(std::int64_t generation, int member) {
  // Right after the commit of `generation`: its shard was written and reported (with its CRC)
  // moments ago, so it is not read twice for its CRC.
  const bool fresh = generation == committed_generation_;
  const auto where = fresh ? committed_locations_ : member_locations(read_index(index_file_path(out_, generation)));
  const auto at = where.find(member);
  if (at == where.end())
    throw CheckpointError("the index of generation " + std::to_string(generation) + " places member " +
                          std::to_string(member) + " in no file");
  copy_best_ever(generation, at->second, !fresh);
}

void H5RunStore::commit(const GenerationCommit& c) {
  GenerationIndex idx;
  idx.generation = c.state.generation;
  idx.next_epoch = c.next_epoch;
  idx.seed = cfg_.seed;
  idx.algorithm = to_string(cfg_.algorithm);
  idx.config_yaml = cfg_.source_text;
  idx.space_name = space_.name();
  for (const auto& gene : space_.genes()) {
    idx.gene_names.push_back(gene.name);
    idx.gene_options.push_back(gene.options);
  }
  idx.members = c.state.members;
  idx.history = c.state.history;
  for (const auto& f : c.files) {
    idx.files.push_back({f.member, f.file, f.bytes, f.crc32});
    for (int m : f.members) idx.locations.push_back({m, f.file, member_group_name(m)});
  }
  idx.best_ever_fitness = c.state.best_ever.fitness;
  idx.best_ever_member = c.state.best_ever.member;
  idx.best_ever_generation = c.state.best_ever.generation;
  join_pruner();
  std::vector<std::string> pruned;
  commit_generation(out_, idx, cfg_.checkpoint.keep, &pruned);
  committed_generation_ = idx.generation;
  committed_locations_ = member_locations(idx);
  if (!pruned.empty()) {
    try {
      pruner_ = std::thread([this, pruned] {
        try {
          remove_pruned(pruned);
        } catch (const std::exception& e) {
          pruner_error_ = e.what();
        }
      });
    } catch (const std::system_error&) {  // no thread to be had: delete them now
      remove_pruned(pruned);
    }
  }
  if (cfg_.crash_after_commit == c.state.generation) {
    // Testing hook: an exact crash point (rank 0 dies, the job with it) for resume tests.
    log_.warn("testing.crash_after_commit: generation " + std::to_string(c.state.generation + 1) +
              " is committed; killing rank 0");
    std::raise(SIGKILL);
  }
}

std::string H5RunStore::best_ever_file() const {
  const std::string path = best_ever_file_path(out_);
  return std::filesystem::exists(path) ? path : "";
}

std::string H5RunStore::describe(std::int64_t generation) const { return index_file_path(out_, generation); }

}  // namespace pbtnas::io
