// An HDF5 file that is built in memory (HDF5's core driver) and written to disk in one piece by
// save(). A full disk or an I/O error then fails a plain write(): one error naming the file and
// the OS reason. HDF5 never sees the failure, so it never holds a half-written file (after a
// failed write and close, HDF5 1.10 crashes when it closes its leftover files at exit). The
// price is the file's size in memory once more while save() copies the image out.
#pragma once

#include <cstddef>
#include <string>

#include <hdf5.h>

namespace sgm::data {

class Hdf5MemoryFile {
 public:
  // `expected_bytes`: about how large the file will be. Memory is taken in steps of that size
  // (at least 16 MiB), so a file that fits is allocated once, never reallocated and copied.
  explicit Hdf5MemoryFile(std::string path, std::size_t expected_bytes = 0);
  ~Hdf5MemoryFile();  // without save(): discarded, nothing written
  Hdf5MemoryFile(const Hdf5MemoryFile&) = delete;
  Hdf5MemoryFile& operator=(const Hdf5MemoryFile&) = delete;

  hid_t id() const { return file_; }
  // Writes the file to its path and fsyncs it (core::write_file_durable); closes it.
  void save();

 private:
  std::string path_;
  hid_t file_ = -1;
};

}  // namespace sgm::data
