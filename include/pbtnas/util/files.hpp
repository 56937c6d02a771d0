#pragma once
// Where pbtnas keeps files that are not results, and how it names temporaries. Torch-free.
//
// Two kinds of cache folders (docs/slurm.md, "Multiple nodes"):
//   node scratch   data that every node writes once for its own ranks (decoded, normalised data
//                  sets mapped by every rank of the node). Node-local by default, so that nodes
//                  sharing a network home never write the same file.
//   cache folder   results worth keeping and sharing across nodes and runs (the GAN task's FID
//                  classifier and reference statistics): the user's cache folder.
#include <string>

namespace pbtnas {

// $XDG_CACHE_HOME/pbtnas, else $HOME/.cache/pbtnas. Throws std::invalid_argument naming
// `config_key` (the key that sets a folder instead) when neither variable is set.
std::string default_cache_dir(const std::string& config_key);

// The first of $SLURM_TMPDIR, $TMPDIR (each when set and not empty) and /dev/shm (when it is a
// writable folder), with "/pbtnas" appended; else default_cache_dir(config_key).
std::string node_scratch_dir(const std::string& config_key);

// PATH.tmp.HOST.PID.TID: a temporary for writing PATH and renaming it into place that no other
// process writes, even one of another node sharing the folder with the same pid, nor another
// thread of this process (TID: the calling thread's id).
std::string temporary_name(const std::string& path);

// Writes `text` to PATH atomically: creates PATH's folder, writes temporary_name(path), fsyncs it,
// renames it onto PATH and fsyncs the folder (readers never see a partial file; concurrent writers
// of equal text leave one whole file). The temporary is removed when anything fails. Throws
// std::runtime_error naming the file and the reason.
void write_text_file_atomic(const std::string& path, const std::string& text);

}  // namespace pbtnas
