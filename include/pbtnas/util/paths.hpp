#pragma once
// Small path helpers shared by the data readers and the tasks. Torch-free.
#include <string>

namespace pbtnas {

// `file` itself when it is absolute or `dir` is empty; else dir/file (one slash between).
std::string join_path(const std::string& dir, const std::string& file);
// The folder part of `path`: "." when it has none, "/" for a file at the root.
std::string parent_dir(const std::string& path);
// Whether `path` names a regular file / a folder (following links).
bool is_regular_file(const std::string& path);
bool is_directory(const std::string& path);

}  // namespace pbtnas
