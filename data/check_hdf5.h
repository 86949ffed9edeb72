// SGM_CHECK_HDF5(call): HDF5 calls return a negative value on failure; this throws core::Error
// with the call text, the messages of HDF5's error stack and file:line. HDF5's own automatic
// printing of the error stack is switched off (once) so only our one line appears.
#pragma once

#include <cstdint>
#include <string>

#include <hdf5.h>

#include "trainer/core/error.h"

namespace sgm::data {

// Silences HDF5's default error printer for this process (idempotent).
void hdf5_quiet();
// The current error stack of this thread as "msg; msg; ...", innermost cause last.
std::string hdf5_error_stack();
[[noreturn]] void throw_hdf5_error(const char* file, int line, const char* call);
// A failing call on a file being read is the file's fault (damaged, or not what sgm wrote): a
// core::UsageError "<what>: cannot be read (<call> failed: <error stack>)", exit 2.
[[noreturn]] void throw_hdf5_read_error(const std::string& what, const char* call);
template <typename T>
T check_hdf5_read(T result, const std::string& what, const char* call) {
  if (result < 0) throw_hdf5_read_error(what, call);
  return result;
}

// Whether a dataset of a file being read can hold the `bytes` it states (its extent times its
// element size), asked before anything is allocated for them: stored contiguous, the file must
// have them all; chunked, no chunk may be larger than the dataset in any dimension (HDF5 allocates
// a whole chunk to read from it, and a shard's datasets never grow), the chunks' stored sizes
// together at most the file (HDF5 allocates a chunk's stated size to read it) and the whole at
// most deflate's 1,032 times the file. Empty when it can; otherwise why not, for a message.
std::string dataset_storage_problem(hid_t file, hid_t dataset, std::uint64_t bytes,
                                    const std::string& what);

// Closes an HDF5 identifier (file, dataset, dataspace, type, ...) when leaving scope.
struct Hdf5Handle {
  hid_t id;
  herr_t (*close)(hid_t);
  ~Hdf5Handle() {
    if (id >= 0) close(id);
  }
};

template <typename T>
T check_hdf5(T result, const char* file, int line, const char* call) {
  if (result < 0) throw_hdf5_error(file, line, call);
  return result;
}

}  // namespace sgm::data

// Evaluates to the call's result (hid_t, herr_t, htri_t, ...) when it succeeded.
#define SGM_CHECK_HDF5(call) \
  (::sgm::data::hdf5_quiet(), ::sgm::data::check_hdf5((call), __FILE__, __LINE__, #call))
