#include "data/named_arrays.h"

#include <filesystem>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "data/check_hdf5.h"
#include "data/hdf5_attributes.h"
#include "data/hdf5_memory_file.h"
#include "data/hdf5_reserved_file.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/memory.h"

namespace sgm::data {
namespace {

// An HDF5 call on the file being read (check_hdf5_read).
#define SGM_READ_HDF5(call) check_hdf5_read((call), path_, #call)

at::ScalarType tensor_type(hid_t type, const std::string& what) {
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  if (cls == H5T_FLOAT && size == 4) return at::kFloat;
  if (cls == H5T_FLOAT && size == 8) return at::kDouble;
  if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    if (!is_signed && size == 1) return at::kByte;
    if (is_signed && size == 1) return at::kChar;
    if (is_signed && size == 2) return at::kShort;
    if (is_signed && size == 4) return at::kInt;
    if (is_signed && size == 8) return at::kLong;
  }
  throw core::UsageError("unsupported HDF5 element type in " + what);
}

hid_t memory_type(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
      return H5T_NATIVE_FLOAT;
    case at::kDouble:
      return H5T_NATIVE_DOUBLE;
    case at::kByte:
      return H5T_NATIVE_UINT8;
    case at::kChar:
      return H5T_NATIVE_INT8;
    case at::kShort:
      return H5T_NATIVE_INT16;
    case at::kInt:
      return H5T_NATIVE_INT32;
    case at::kLong:
      return H5T_NATIVE_INT64;
    default:
      break;
  }
  throw core::Error("no HDF5 memory type for this tensor dtype");
}

}  // namespace

NamedArrayFile::NamedArrayFile(const std::string& path) : path_(path) {
  if (!std::filesystem::is_regular_file(path)) throw core::UsageError("no such file: " + path);
  hdf5_quiet();
  if (H5Fis_hdf5(path.c_str()) <= 0) throw core::UsageError("not an HDF5 file: " + path);
  hid_t fapl = SGM_CHECK_HDF5(H5Pcreate(H5P_FILE_ACCESS));
  Hdf5Handle plist{fapl, H5Pclose};
  // Read-only data on shared file systems: no file locking.
  SGM_CHECK_HDF5(H5Pset_file_locking(fapl, false, true));
  file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl);
  if (file_ < 0)
    throw core::UsageError("cannot open HDF5 file " + path + ": " + hdf5_error_stack());
}

NamedArrayFile::~NamedArrayFile() {
  if (file_ >= 0) H5Fclose(file_);
}

bool NamedArrayFile::has(const std::string& name) const {
  // Check each path component, as H5Lexists requires.
  std::string prefix;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t slash = name.find('/', start);
    prefix = name.substr(0, slash);
    if (H5Lexists(file_, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return true;
}

at::Tensor NamedArrayFile::read(const std::string& name) const {
  if (!has(name)) throw core::UsageError(path_ + ": no dataset '" + core::printable(name) + "'");
  Hdf5Handle dataset{SGM_READ_HDF5(H5Dopen2(file_, name.c_str(), H5P_DEFAULT)), H5Dclose};
  Hdf5Handle space{SGM_READ_HDF5(H5Dget_space(dataset.id)), H5Sclose};
  Hdf5Handle type{SGM_READ_HDF5(H5Dget_type(dataset.id)), H5Tclose};
  const int rank = SGM_READ_HDF5(H5Sget_simple_extent_ndims(space.id));
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  SGM_READ_HDF5(H5Sget_simple_extent_dims(space.id, dims.data(), nullptr));
  const at::ScalarType dtype = tensor_type(type.id, path_ + ":" + core::printable(name));
  // The file must hold what the dataset states before that is allocated: all of it when stored
  // contiguous (how sgm writes), at most deflate's 1,032:1 more than the file otherwise.
  std::uint64_t elements = 1;
  for (const hsize_t d : dims) {
    if (d != 0 && elements > (std::uint64_t{1} << 50) / d)
      throw core::UsageError(
          fmt::format("{}: '{}' states more than 2^50 elements", path_, core::printable(name)));
    elements *= d;
  }
  const std::uint64_t bytes = elements * at::elementSize(dtype);
  const std::string problem = dataset_storage_problem(file_, dataset.id, bytes, path_);
  if (!problem.empty())
    throw core::UsageError(fmt::format("{}: '{}' {}", path_, core::printable(name), problem));
  at::Tensor out = at::empty(std::vector<std::int64_t>(dims.begin(), dims.end()),
                             at::TensorOptions().dtype(dtype));
  SGM_READ_HDF5(
      H5Dread(dataset.id, memory_type(dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data_ptr()));
  return out;
}

std::vector<std::string> NamedArrayFile::names(const std::string& group) const {
  if (group != "/" && !has(group))
    throw core::UsageError(path_ + ": no group '" + core::printable(group) + "'");
  Hdf5Handle g{SGM_READ_HDF5(H5Gopen2(file_, group.c_str(), H5P_DEFAULT)), H5Gclose};
  H5G_info_t info;
  SGM_READ_HDF5(H5Gget_info(g.id, &info));
  std::vector<std::string> out;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t len = SGM_READ_HDF5(
        H5Lget_name_by_idx(g.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT));
    std::string name(static_cast<std::size_t>(len), '\0');
    SGM_READ_HDF5(H5Lget_name_by_idx(g.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(),
                                     name.size() + 1, H5P_DEFAULT));
    out.push_back(std::move(name));
  }
  return out;
}

std::map<std::string, at::Tensor> NamedArrayFile::read_group(const std::string& group) const {
  std::map<std::string, at::Tensor> out;
  for (const std::string& name : names(group)) out.emplace(name, read(group + "/" + name));
  return out;
}

bool NamedArrayFile::has_attribute(const std::string& name) const {
  return data::has_attribute(file_, name.c_str(), path_);
}

std::string NamedArrayFile::string_attribute(const std::string& name) const {
  return read_string_attribute(file_, name.c_str(), path_);
}

std::int64_t NamedArrayFile::int_attribute(const std::string& name) const {
  return read_int_attribute(file_, name.c_str(), path_);
}

namespace {

void fill_named_arrays(hid_t file, const std::vector<std::pair<std::string, at::Tensor>>& arrays,
                       const std::map<std::string, std::string>& attributes) {
  Hdf5Handle links{SGM_CHECK_HDF5(H5Pcreate(H5P_LINK_CREATE)), H5Pclose};
  SGM_CHECK_HDF5(H5Pset_create_intermediate_group(links.id, 1));
  for (const auto& [name, tensor] : arrays) {
    const at::Tensor t = tensor.detach().cpu().contiguous();
    std::vector<hsize_t> dims(t.sizes().begin(), t.sizes().end());
    Hdf5Handle space{
        SGM_CHECK_HDF5(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr)),
        H5Sclose};
    const hid_t type = memory_type(t.scalar_type());
    Hdf5Handle dataset{SGM_CHECK_HDF5(H5Dcreate2(file, name.c_str(), type, space.id, links.id,
                                                 H5P_DEFAULT, H5P_DEFAULT)),
                       H5Dclose};
    SGM_CHECK_HDF5(H5Dwrite(dataset.id, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()));
  }
  for (const auto& [name, value] : attributes) write_string_attribute(file, name.c_str(), value);
}

}  // namespace

std::size_t named_arrays_reserve(const std::vector<std::pair<std::string, at::Tensor>>& arrays,
                                 const std::map<std::string, std::string>& attributes) {
  // The arrays' bytes, and for HDF5's metadata 1 KiB and the name per array and per attribute
  // and 64 KiB for the file: an array's object header, its link and its share of the groups'
  // B-trees and heaps take 380-450 bytes with the name (sgm's checkpoints, Hdf5ReservedFile.*).
  std::size_t bytes = std::size_t{64} << 10;
  for (const auto& [name, tensor] : arrays) bytes += tensor.nbytes() + name.size() + 1024;
  for (const auto& [name, value] : attributes) bytes += name.size() + value.size() + 1024;
  return bytes;
}

void write_named_arrays(const std::string& path,
                        const std::vector<std::pair<std::string, at::Tensor>>& arrays,
                        const std::map<std::string, std::string>& attributes) {
  // Written in place into reserved space: the file is never held in memory, so a checkpoint's
  // write adds nothing the size of the model to the process. Where space cannot be reserved,
  // built in memory and written in one piece.
  if (auto file = Hdf5ReservedFile::create(path, named_arrays_reserve(arrays, attributes))) {
    fill_named_arrays(file->id(), arrays, attributes);
    file->save();
    return;
  }
  // The file in memory is one new mapping of its size: what the process freed goes back first,
  // so that the two are not resident together.
  core::release_freed_memory();
  Hdf5MemoryFile file(path);
  fill_named_arrays(file.id(), arrays, attributes);
  file.save();
}

}  // namespace sgm::data
