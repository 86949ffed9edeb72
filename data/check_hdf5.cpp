#include "data/check_hdf5.h"

#include <algorithm>
#include <mutex>
#include <vector>

#include <fmt/format.h>

namespace sgm::data {
namespace {

herr_t collect(unsigned /*n*/, const H5E_error2_t* entry, void* out) {
  auto* messages = static_cast<std::vector<std::string>*>(out);
  std::string text = entry->desc != nullptr ? entry->desc : "";
  if (entry->func_name != nullptr) text = fmt::format("{} (in {})", text, entry->func_name);
  messages->push_back(text);
  return 0;
}

}  // namespace

void hdf5_quiet() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

std::string hdf5_error_stack() {
  std::vector<std::string> messages;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect, &messages);
  H5Eclear2(H5E_DEFAULT);
  if (messages.empty()) return "unknown HDF5 error";
  std::string out;
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (!out.empty()) out += "; ";
    out += *it;
  }
  return out;
}

void throw_hdf5_error(const char* file, int line, const char* call) {
  throw core::Error(core::call_failure_message(file, line, call, hdf5_error_stack()));
}

void throw_hdf5_read_error(const std::string& what, const char* call) {
  throw core::UsageError(what + ": cannot be read (" + call + " failed: " + hdf5_error_stack() +
                         ")");
}

std::string dataset_storage_problem(hid_t file, hid_t dataset, std::uint64_t bytes,
                                    const std::string& what) {
  const Hdf5Handle create{
      check_hdf5_read(H5Dget_create_plist(dataset), what, "H5Dget_create_plist"), H5Pclose};
  const H5D_layout_t layout = H5Pget_layout(create.id);
  if (layout == H5D_CONTIGUOUS) {
    const hsize_t stored = H5Dget_storage_size(dataset);
    if (stored < bytes) return fmt::format("states {} bytes but the file holds {}", bytes, stored);
    return "";
  }
  if (layout == H5D_CHUNKED) {
    const Hdf5Handle space{check_hdf5_read(H5Dget_space(dataset), what, "H5Dget_space"), H5Sclose};
    const int rank =
        check_hdf5_read(H5Sget_simple_extent_ndims(space.id), what, "H5Sget_simple_extent_ndims");
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank)), chunk(dims.size());
    check_hdf5_read(H5Sget_simple_extent_dims(space.id, dims.data(), nullptr), what,
                    "H5Sget_simple_extent_dims");
    if (check_hdf5_read(H5Pget_chunk(create.id, rank, chunk.data()), what, "H5Pget_chunk") != rank)
      return "has chunks of another rank than its own";
    for (std::size_t d = 0; d < dims.size(); ++d)
      if (chunk[d] > std::max<hsize_t>(dims[d], 1))
        return fmt::format("has chunks of {} in dimension {} where it holds {}", chunk[d], d,
                           dims[d]);
  }
  hsize_t file_bytes = 0;
  check_hdf5_read(H5Fget_filesize(file, &file_bytes), what, "H5Fget_filesize");
  // The chunk index states each chunk's size in the file, which HDF5 allocates to read it.
  const hsize_t stored = H5Dget_storage_size(dataset);
  if (stored > file_bytes)
    return fmt::format("states {} bytes of chunks in a file of {}", stored, file_bytes);
  if (bytes > 1032 * static_cast<std::uint64_t>(file_bytes))
    return fmt::format("states {} bytes, more than deflate can make of a file of {}", bytes,
                       file_bytes);
  return "";
}

}  // namespace sgm::data
