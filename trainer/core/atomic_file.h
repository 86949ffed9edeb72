// Files that are either whole or absent: write to a temporary name, fsync, rename, fsync the
// parent directory (distributed.md §11).
#pragma once

#include <string>
#include <string_view>

namespace sgm::core {

// Replaces `path` with `content` atomically. Throws UsageError naming the path on failure;
// the temporary file is removed.
void write_file_atomic(const std::string& path, std::string_view content);

// fsync of a directory, so a rename inside it is durable.
void fsync_directory(const std::string& dir);

}  // namespace sgm::core
