#include "data/hdf5_reserved_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>
#include <sys/stat.h>

#include "data/check_hdf5.h"
#include "trainer/core/error.h"

namespace sgm::data {

std::unique_ptr<Hdf5ReservedFile> Hdf5ReservedFile::create(const std::string& path,
                                                           std::size_t reserve_bytes) {
  hdf5_quiet();
  Hdf5Handle access{SGM_CHECK_HDF5(H5Pcreate(H5P_FILE_ACCESS)), H5Pclose};
  SGM_CHECK_HDF5(H5Pset_fapl_sec2(access.id));
  // HDF5 creates (truncates) the file first: a truncation after the reservation would free it.
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.id);
  if (file < 0) throw core::UsageError("cannot create " + path + ": " + hdf5_error_stack());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  int error = fd < 0 ? errno : 0;
  if (fd >= 0) {
    while (::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(reserve_bytes)) != 0) {
      if (errno == EINTR) continue;
      error = errno;
      break;
    }
  }
  if (error == 0) return std::unique_ptr<Hdf5ReservedFile>(new Hdf5ReservedFile(path, fd, file));
  // Nothing has been written: closing HDF5's file cannot fail for want of space.
  H5Fclose(file);
  if (fd >= 0) ::close(fd);
  ::unlink(path.c_str());
  if (error == EOPNOTSUPP || error == ENOSYS) return nullptr;
  throw core::Error(
      fmt::format("cannot reserve {} bytes for {}: {}", reserve_bytes, path, std::strerror(error)));
}

Hdf5ReservedFile::Hdf5ReservedFile(std::string path, int fd, hid_t file)
    : path_(std::move(path)), fd_(fd), file_(file) {}

Hdf5ReservedFile::~Hdf5ReservedFile() {
  if (file_ >= 0) H5Fclose(file_);
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
}

void Hdf5ReservedFile::save() {
  auto failed = [&](const std::string& what) {
    const int saved = errno;
    ::close(std::exchange(fd_, -1));
    ::unlink(path_.c_str());
    throw core::Error(fmt::format("cannot {} {}: {}", what, path_, std::strerror(saved)));
  };
  if (H5Fclose(std::exchange(file_, -1)) < 0) {
    const std::string reason = hdf5_error_stack();
    ::close(std::exchange(fd_, -1));
    ::unlink(path_.c_str());
    throw core::Error(fmt::format("cannot write {}: {}", path_, reason));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) failed("stat");
  // Truncating to its own size frees the blocks reserved past the end of the file.
  if (::ftruncate(fd_, st.st_size) != 0) failed("truncate");
  if (::fsync(fd_) != 0) failed("fsync");
  if (::close(std::exchange(fd_, -1)) != 0) {
    const int saved = errno;
    ::unlink(path_.c_str());
    throw core::Error(fmt::format("cannot write {}: {}", path_, std::strerror(saved)));
  }
  saved_bytes_ = static_cast<std::size_t>(st.st_size);
}

}  // namespace sgm::data
