// An HDF5 file that is built in memory (HDF5's core driver) and written to disk in one piece by
// save(). A full disk or an I/O error then fails a plain write(): one error naming the file and
// the OS reason. HDF5 never sees the failure, so it never holds a half-written file (after a
// failed write and close, HDF5 1.10 crashes when it closes its leftover files at exit). The
// driver's memory comes from this class (HDF5's file image callbacks) and outlives the close, so
// save() writes the closed file straight from it: the file is in memory once, not once more for
// a copy.
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
  // Whether the last save() wrote from the driver's own memory (else from a copy of the image,
  // which happens only if the driver's memory did not hold the whole image).
  bool saved_in_place() const { return saved_in_place_; }

  // The driver's memory block: where HDF5's file image callbacks keep it; whether closing the
  // file leaves it to this class instead of freeing it, and whether that happened. Shared with
  // HDF5's copies of the property list (counted: the last one deletes it).
  struct Image {
    void* data = nullptr;
    std::size_t size = 0;
    bool keep_at_close = false;
    bool kept = false;
    int references = 1;
  };

 private:
  std::string path_;
  Image* image_ = new Image;
  hid_t file_ = -1;
  bool saved_in_place_ = false;
};

}  // namespace sgm::data
