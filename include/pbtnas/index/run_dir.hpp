#pragma once
// The checkpoint directory of a run and its commit protocol:
//   OUT/checkpoints/gen_000003/shard_001.h5    the members of worker rank 1, one group each
//                                              (member_007.h5: one file per member, formats 1-2)
//   OUT/checkpoints/gen_000003/index.h5        written LAST by the coordinator: commits gen 3
//   OUT/checkpoints/LATEST                     "3\n" (convenience only; index.h5 is the truth)
// A generation is committed iff its index.h5 exists, reads correctly, names this generation,
// places every member in a listed file, and every listed file exists with the recorded size and CRC-32.
// All files are written atomically (NAME.tmp, fsync, rename, fsync of the directory), so a run
// killed at any point leaves either a committed generation or one that fails verification.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pbtnas/index/generation_index.hpp"

namespace pbtnas::io {

// OUT/checkpoints
std::string checkpoints_dir(const std::string& out);
// OUT/checkpoints/gen_000003
std::string generation_dir(const std::string& out, std::int64_t gen);
// "member_007.h5"
std::string member_file_name(int id);
// OUT/checkpoints/gen_000003/member_007.h5
std::string member_file_path(const std::string& out, std::int64_t gen, int id);
// "shard_001.h5": the shard of worker rank 1
std::string shard_file_name(int rank);
// OUT/checkpoints/gen_000003/shard_001.h5
std::string shard_file_path(const std::string& out, std::int64_t gen, int rank);
// "member_007": member 7's group in a shard
std::string member_group_name(int id);
// OUT/checkpoints/gen_000003/index.h5
std::string index_file_path(const std::string& out, std::int64_t gen);

// OUT/best_ever.h5: a copy of the member file of the best-ever member (highest search fitness
// over all members and generations), made when its generation is committed; after the search it
// also holds the final evaluation (MemberFile::evaluation).
std::string best_ever_file_path(const std::string& out);
// OUT/samples/gen_000003/member_007.png: the task's preview of a member after that generation's
// training; OUT/samples/final_best.png: the best-ever member's, after the final evaluation.
std::string sample_grid_path(const std::string& out, std::int64_t gen, int id);
std::string final_grid_path(const std::string& out);
// Copies `from` to `to` atomically (TO.tmp, fsync, rename). Throws CheckpointError.
void copy_file_atomic(const std::string& from, const std::string& to);

// Size and CRC-32 of an existing file; `file` is set to the file name (no directory).
FileEntry describe_file(int member, const std::string& path);

// Commits `index` (its `files` must already describe the member files, e.g. by describe_file):
// checks that every listed file exists with the recorded size, writes index.h5 atomically, then
// LATEST, removes stray *.tmp files, and prunes. Pruning (keep > 0) keeps the `keep` newest
// generations whose index reads and whose files are all there with their recorded sizes (the one
// just committed always counts; CRCs are not re-read: docs/checkpoint-format.md, "Pruning") and
// deletes every generation directory older than the oldest kept one. Directories newer than
// the committed generation are left alone (see discard_uncommitted). keep == 0 keeps all.
// Directories to delete are first taken out of the run (index.h5 removed, then renamed to
// OUT/checkpoints/.pruned_gen_NNNNNN: one rename each), then deleted with remove_pruned, together
// with any .pruned_* left by an earlier process. With `pruned` given, they are only listed there
// for the caller to delete: rank 0 deletes their files in the background instead of between two
// generations.
void commit_generation(const std::string& out, const GenerationIndex& index, int keep,
                       std::vector<std::string>* pruned = nullptr);

// Deletes directories listed by commit_generation. Throws CheckpointError naming the first one
// that could not be deleted.
void remove_pruned(const std::vector<std::string>& dirs);

// Throws CheckpointError saying precisely why generation `gen` is not a valid committed
// generation (missing index.h5, unreadable index, missing / truncated / corrupted member file).
void verify_generation(const std::string& out, std::int64_t gen);

// Generation numbers of the gen_* directories under OUT/checkpoints, ascending.
std::vector<std::int64_t> list_generation_dirs(const std::string& out);

// Called for each generation directory that is skipped, with the reason (the CheckpointError
// message), e.g. to log "skipping gen_000005: ... index.h5 is missing ...".
using SkipReporter = std::function<void(std::int64_t gen, const std::string& why)>;

// The resume policy (the only one): the newest generation directory that holds an index.h5 must
// verify, and is returned; newer directories without index.h5 were never committed and are
// reported to `on_skip` (discard_uncommitted removes them). When that newest committed
// generation fails verification, throws CheckpointError naming the problem and the fix (move
// the directory away to resume from the previous one); nothing is changed. nullopt: fresh run.
std::optional<std::int64_t> resume_generation(const std::string& out, const SkipReporter& on_skip = {});

// Removes every generation directory newer than `after_gen` (-1: all of them) and rewrites
// LATEST. Call on resume, after resume_generation and before any worker writes, so
// that a new generation never mixes with files of an abandoned one.
void discard_uncommitted(const std::string& out, std::int64_t after_gen);

// Atomic small-file write used for LATEST (exposed for the metric logs and tests):
// pbtnas::write_text_file_atomic (util/files.hpp) with its failure as a CheckpointError.
void write_text_file_atomic(const std::string& path, const std::string& text);

}  // namespace pbtnas::io
