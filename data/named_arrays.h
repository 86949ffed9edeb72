// HDF5 files of named arrays: the layout of score_sde fixtures (/params/<state_dict key>,
// /forward/x, ...) and of sgm's weight exports, read into tensors (CPU, dtype as stored).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace sgm::data {

class NamedArrayFile {
 public:
  // Opens read-only; throws core::UsageError naming the file if it is missing or not HDF5.
  explicit NamedArrayFile(const std::string& path);
  ~NamedArrayFile();
  NamedArrayFile(const NamedArrayFile&) = delete;
  NamedArrayFile& operator=(const NamedArrayFile&) = delete;

  const std::string& path() const { return path_; }
  bool has(const std::string& name) const;  // dataset or group, e.g. "score" or "loss/t"
  // One dataset ("forward/x"): float32/64, int8..64, uint8 as the matching tensor dtype.
  at::Tensor read(const std::string& name) const;
  // Every dataset directly inside a group, by name.
  std::map<std::string, at::Tensor> read_group(const std::string& group) const;
  // The names of everything (datasets and groups) directly inside a group ("/" for the root).
  std::vector<std::string> names(const std::string& group = "/") const;
  bool has_attribute(const std::string& name) const;
  // A root attribute (string or integer).
  std::string string_attribute(const std::string& name) const;
  std::int64_t int_attribute(const std::string& name) const;

 private:
  std::string path_;
  std::int64_t file_ = -1;  // hid_t
};

// Writes `arrays` (name -> CPU or CUDA tensor; "a/b" names make groups) and string attributes
// at the root to a new HDF5 file at `path` (replaced if it exists). The file is fsynced; callers
// that need atomicity write into a core::StagedDirectory. Names keep their order of insertion
// only as far as HDF5 lists them by name; readers look them up by name. The file is written in
// place into disk space reserved first (data/hdf5_reserved_file.h; named_arrays_reserve bytes),
// or, where the file system cannot reserve, built in memory and written in one piece.
void write_named_arrays(const std::string& path,
                        const std::vector<std::pair<std::string, at::Tensor>>& arrays,
                        const std::map<std::string, std::string>& attributes = {});

// What write_named_arrays reserves: the arrays' bytes and a bound on HDF5's metadata.
std::size_t named_arrays_reserve(const std::vector<std::pair<std::string, at::Tensor>>& arrays,
                                 const std::map<std::string, std::string>& attributes);

}  // namespace sgm::data
