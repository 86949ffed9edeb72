#include "trainer/core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "trainer/core/error.h"

namespace sgm::core {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw UsageError(fmt::format("cannot {} {}: {}", what, path, std::strerror(errno)));
}

}  // namespace

void fsync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("open directory", dir);
  if (::fsync(fd) != 0 && errno != EINVAL) {
    ::close(fd);
    fail("fsync directory", dir);
  }
  ::close(fd);
}

void fsync_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open", path);
  if (::fsync(fd) != 0) {
    ::close(fd);
    fail("fsync", path);
  }
  ::close(fd);
}

StagedDirectory::StagedDirectory(const std::string& target)
    : target_(std::filesystem::absolute(target).string()),
      staging_(fmt::format("{}.tmp-{}", target_, ::getpid())) {
  std::error_code ec;
  std::filesystem::remove_all(staging_, ec);
  std::filesystem::create_directories(staging_, ec);
  if (ec) throw UsageError(fmt::format("cannot create {}: {}", staging_, ec.message()));
}

StagedDirectory::~StagedDirectory() {
  if (committed_) return;
  std::error_code ec;
  std::filesystem::remove_all(staging_, ec);
}

void StagedDirectory::commit() {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(staging_)) {
    if (entry.is_regular_file()) fsync_file(entry.path().string());
  }
  fsync_directory(staging_);
  std::error_code ec;
  if (std::filesystem::exists(target_)) std::filesystem::remove_all(target_, ec);
  if (ec) throw UsageError(fmt::format("cannot replace {}: {}", target_, ec.message()));
  std::filesystem::rename(staging_, target_, ec);
  if (ec)
    throw UsageError(fmt::format("cannot rename {} to {}: {}", staging_, target_, ec.message()));
  committed_ = true;
  fsync_directory(std::filesystem::path(target_).parent_path().string());
}

void write_file_durable(const std::string& path, std::string_view content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("create", path);
  // A failed write or fsync (a full disk, an I/O error) is a runtime failure, not bad input.
  auto failed = [&](const char* what) {
    const int saved = errno;
    ::close(fd);
    ::unlink(path.c_str());
    throw Error(fmt::format("cannot {} {}: {}", what, path, std::strerror(saved)));
  };
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) failed("write");
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) failed("fsync");
  if (::close(fd) != 0) {
    const int saved = errno;
    ::unlink(path.c_str());
    throw Error(fmt::format("cannot write {}: {}", path, std::strerror(saved)));
  }
}

void write_file_atomic(const std::string& path, std::string_view content) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  write_file_durable(tmp, content);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    fail("rename into", path);
  }
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  fsync_directory(parent.empty() ? "." : parent.string());
}

namespace {

// NAME.tmp-N or NAME.tmp.N (a non-empty NAME, N decimal digits): what atomic writes and staged
// directories are called until they are renamed into place.
bool is_staging_name(const std::string& name) {
  std::size_t digits = 0;
  while (digits < name.size() && name[name.size() - 1 - digits] >= '0' &&
         name[name.size() - 1 - digits] <= '9')
    ++digits;
  if (digits == 0 || name.size() < digits + 6) return false;  // NAME + ".tmp" + separator
  const std::size_t separator = name.size() - digits - 1;
  return (name[separator] == '-' || name[separator] == '.') &&
         name.compare(separator - 4, 4, ".tmp") == 0;
}

}  // namespace

std::vector<std::string> remove_staging_leftovers(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!is_staging_name(entry.path().filename().string())) continue;
    std::filesystem::remove_all(entry.path(), ec);
    if (!ec) removed.push_back(entry.path().string());
  }
  return removed;
}

}  // namespace sgm::core
