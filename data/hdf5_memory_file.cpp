#include "data/hdf5_memory_file.h"

#include <algorithm>
#include <utility>

#include "data/check_hdf5.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/error.h"

namespace sgm::data {

Hdf5MemoryFile::Hdf5MemoryFile(std::string path, std::size_t expected_bytes)
    : path_(std::move(path)) {
  hdf5_quiet();
  Hdf5Handle access{SGM_CHECK_HDF5(H5Pcreate(H5P_FILE_ACCESS)), H5Pclose};
  // Grow in steps of the expected size (16 MiB at least); no backing store: the driver never
  // writes the file itself.
  SGM_CHECK_HDF5(H5Pset_fapl_core(access.id, std::max(std::size_t{16} << 20, expected_bytes), 0));
  file_ = H5Fcreate(path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.id);
  if (file_ < 0) throw core::UsageError("cannot create " + path_ + ": " + hdf5_error_stack());
}

Hdf5MemoryFile::~Hdf5MemoryFile() {
  if (file_ >= 0) H5Fclose(file_);
}

void Hdf5MemoryFile::save() {
  SGM_CHECK_HDF5(H5Fflush(file_, H5F_SCOPE_GLOBAL));
  const ssize_t size = SGM_CHECK_HDF5(H5Fget_file_image(file_, nullptr, 0));
  std::string image(static_cast<std::size_t>(size), '\0');
  SGM_CHECK_HDF5(H5Fget_file_image(file_, image.data(), image.size()));
  const hid_t file = std::exchange(file_, -1);
  SGM_CHECK_HDF5(H5Fclose(file));
  core::write_file_durable(path_, image);
}

}  // namespace sgm::data
