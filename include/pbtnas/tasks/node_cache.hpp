#pragma once
// Data computed once per node and shared by every rank on it (docs/performance.md, "Memory per
// rank"): a decoded, normalised data set is written once into the cache folder and mapped
// read-only by every worker, so its pages are in memory once per node, not once per rank.
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "pbtnas/util/files.hpp"  // default_cache_dir, node_scratch_dir, temporary_name

namespace pbtnas {

// A short hex fingerprint of `parts` and of each existing file among `files` (path, size,
// modification time), for cache file names: a changed input gives another name.
std::string cache_fingerprint(const std::vector<std::string>& parts, const std::vector<std::string>& files);

// The tensor stored in `dir/name` (created with its parent folders when absent): if the file is
// missing or unreadable, `compute()` makes the tensor and it is written atomically while an
// exclusive lock on `dir/name.lock` is held, so concurrent ranks compute it once. Where the file
// system cannot lock (FileLock::unsupported), every process that finds no file computes it and
// renames its own temporary into place (one line on stderr says so). The file is then
// mapped read-only and shared (MAP_SHARED); the returned CPU tensor views the mapping and lives as
// long as any view of it. It must never be written to (the pages are read-only). Throws
// std::runtime_error naming the file and the fix when the folder cannot be written.
torch::Tensor node_shared_tensor(const std::string& dir, const std::string& name,
                                 const std::function<torch::Tensor()>& compute);

// Returns the free pages of the C heap to the operating system (glibc's malloc_trim; nothing
// elsewhere). Data loading leaves large freed buffers (decompressed files) that the heap would
// otherwise keep resident for the whole run.
void release_free_heap();

}  // namespace pbtnas
