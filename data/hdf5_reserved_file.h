// An HDF5 file written in place (HDF5's sec2 driver) into disk space reserved for it before
// HDF5 writes a byte: for files too large to build in memory first (a checkpoint's weights are
// as large as four copies of the model). A full disk or a quota then fails the reservation, with
// one error naming the file and the OS reason, before HDF5 holds anything it could not write
// (after a failed write, HDF5 1.10 crashes when it closes its leftover files at exit). Where the
// file system cannot reserve space, create() returns nothing and the caller builds the file in
// memory instead (Hdf5MemoryFile).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <hdf5.h>

namespace sgm::data {

class Hdf5ReservedFile {
 public:
  // Creates `path` and reserves `reserve_bytes` for it (fallocate, FALLOC_FL_KEEP_SIZE: the
  // size stays 0). Throws core::Error naming the path when the space is not there; returns
  // nullptr when the file system does not reserve (EOPNOTSUPP), leaving no file.
  static std::unique_ptr<Hdf5ReservedFile> create(const std::string& path,
                                                  std::size_t reserve_bytes);
  ~Hdf5ReservedFile();  // without save(): closed and removed
  Hdf5ReservedFile(const Hdf5ReservedFile&) = delete;
  Hdf5ReservedFile& operator=(const Hdf5ReservedFile&) = delete;

  hid_t id() const { return file_; }
  // Closes the file, fsyncs it and gives back the reserved space past its end. Throws
  // core::Error naming the path (the file is removed) on a failed write, fsync or close.
  void save();
  // The size of the saved file (0 before save()).
  std::size_t saved_bytes() const { return saved_bytes_; }

 private:
  Hdf5ReservedFile(std::string path, int fd, hid_t file);
  std::string path_;
  int fd_ = -1;
  hid_t file_ = -1;
  std::size_t saved_bytes_ = 0;
};

}  // namespace sgm::data
