#include "data/hdf5_memory_file.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>

#include "data/check_hdf5.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/error.h"

namespace sgm::data {
namespace {

// HDF5's file image callbacks: the core driver allocates, grows and frees its memory through
// these, so the Image always knows where the file is. udata is the Image; HDF5 copies it with
// the property list, and every copy is the same pointer.
void* image_malloc(std::size_t size, H5FD_file_image_op_t, void* udata) {
  auto* image = static_cast<Hdf5MemoryFile::Image*>(udata);
  void* p = std::malloc(size);
  if (p != nullptr) {
    image->data = p;
    image->size = size;
  }
  return p;
}

void* image_memcpy(void* dest, const void* src, std::size_t size, H5FD_file_image_op_t, void*) {
  return std::memcpy(dest, src, size);
}

void* image_realloc(void* ptr, std::size_t size, H5FD_file_image_op_t, void* udata) {
  auto* image = static_cast<Hdf5MemoryFile::Image*>(udata);
  void* p = std::realloc(ptr, size);
  if (p != nullptr) {
    image->data = p;
    image->size = size;
  }
  return p;
}

herr_t image_free(void* ptr, H5FD_file_image_op_t op, void* udata) {
  auto* image = static_cast<Hdf5MemoryFile::Image*>(udata);
  if (ptr == image->data) {
    if (op == H5FD_FILE_IMAGE_OP_FILE_CLOSE && image->keep_at_close) {
      image->kept = true;  // save() writes it, then frees it
      return 0;
    }
    image->data = nullptr;
    image->size = 0;
  }
  std::free(ptr);
  return 0;
}

void release(Hdf5MemoryFile::Image* image) {
  if (--image->references == 0) delete image;
}

void* udata_copy(void* udata) {
  ++static_cast<Hdf5MemoryFile::Image*>(udata)->references;
  return udata;
}

herr_t udata_free(void* udata) {
  release(static_cast<Hdf5MemoryFile::Image*>(udata));
  return 0;
}

}  // namespace

Hdf5MemoryFile::Hdf5MemoryFile(std::string path, std::size_t expected_bytes)
    : path_(std::move(path)) {
  try {
    hdf5_quiet();
    Hdf5Handle access{SGM_CHECK_HDF5(H5Pcreate(H5P_FILE_ACCESS)), H5Pclose};
    // Grow in steps of the expected size (16 MiB at least); no backing store: the driver never
    // writes the file itself.
    SGM_CHECK_HDF5(H5Pset_fapl_core(access.id, std::max(std::size_t{16} << 20, expected_bytes), 0));
    H5FD_file_image_callbacks_t callbacks{image_malloc, image_memcpy, image_realloc, image_free,
                                          udata_copy,   udata_free,   image_};
    SGM_CHECK_HDF5(H5Pset_file_image_callbacks(access.id, &callbacks));
    file_ = H5Fcreate(path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.id);
    if (file_ < 0) throw core::UsageError("cannot create " + path_ + ": " + hdf5_error_stack());
  } catch (...) {
    release(image_);  // no destructor runs for a constructor that throws
    throw;
  }
}

Hdf5MemoryFile::~Hdf5MemoryFile() {
  image_->keep_at_close = false;
  if (file_ >= 0) H5Fclose(file_);
  if (image_->kept) std::free(image_->data);  // left by save()'s close (a failed write)
  release(image_);
}

void Hdf5MemoryFile::save() {
  SGM_CHECK_HDF5(H5Fflush(file_, H5F_SCOPE_GLOBAL));
  const auto size = static_cast<std::size_t>(SGM_CHECK_HDF5(H5Fget_file_image(file_, nullptr, 0)));
  // Closed, the file's image is the first `size` bytes of the driver's memory, which the close
  // leaves to this class. A file with objects still open closes only when they do, so it is
  // copied out first, as is an image the driver's memory does not hold whole.
  const bool alone = SGM_CHECK_HDF5(H5Fget_obj_count(file_, H5F_OBJ_ALL)) == 1;
  const bool in_place = alone && image_->data != nullptr && size <= image_->size;
  std::string copy;
  if (!in_place) {
    copy.assign(size, '\0');
    SGM_CHECK_HDF5(H5Fget_file_image(file_, copy.data(), copy.size()));
  }
  image_->keep_at_close = in_place;
  const hid_t file = std::exchange(file_, -1);
  const herr_t closed = H5Fclose(file);
  image_->keep_at_close = false;
  SGM_CHECK_HDF5(closed);
  SGM_CHECK(image_->kept == in_place, "{}: closing the in-memory file {} its image", path_,
            in_place ? "did not hand over" : "handed over");
  saved_in_place_ = in_place;
  if (!in_place) {
    core::write_file_durable(path_, copy);
    return;
  }
  core::write_file_durable(path_, std::string_view(static_cast<const char*>(image_->data), size));
  std::free(std::exchange(image_->data, nullptr));
  image_->size = 0;
  image_->kept = false;
}

}  // namespace sgm::data
