// Files that are either whole or absent: write to a temporary name, fsync, rename, fsync the
// parent directory.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sgm::core {

// Replaces `path` with `content` atomically. Throws naming the path on failure (UsageError when
// it cannot be created, Error when a write or fsync fails: a full disk, an I/O error); the
// temporary file is removed.
void write_file_atomic(const std::string& path, std::string_view content);

// Writes `content` to `path` and fsyncs it, in place (inside a StagedDirectory, which makes the
// whole directory atomic). Failures as write_file_atomic's; a partial file is removed.
void write_file_durable(const std::string& path, std::string_view content);

// fsync of a directory, so a rename inside it is durable.
void fsync_directory(const std::string& dir);
// fsync of a file's contents.
void fsync_file(const std::string& path);

// A directory that appears whole or not at all (dataset directories, checkpoints): files are
// written under a staging name beside `target`; commit() fsyncs every file in it and the
// directory, replaces `target` by a rename, and fsyncs the parent. Destroyed uncommitted (an
// error on the way), it removes the staging directory: nothing half-written stays behind.
class StagedDirectory {
 public:
  explicit StagedDirectory(const std::string& target);
  ~StagedDirectory();
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;

  const std::string& path() const { return staging_; }
  void commit();

 private:
  std::string target_;
  std::string staging_;
  bool committed_ = false;
};

// Removes what killed writers left directly in `dir`: staging directories of StagedDirectory
// (NAME.tmp-PID) and temporary files of write_file_atomic (NAME.tmp.PID). Only for a directory
// whose lock this process holds (core/workdir_lock.h): then no live writer owns them. Returns
// the paths removed.
std::vector<std::string> remove_staging_leftovers(const std::string& dir);

}  // namespace sgm::core
