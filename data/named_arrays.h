// HDF5 files of named arrays: the layout of score_sde fixtures (/params/<state_dict key>,
// /forward/x, ...) and of sgm's weight exports, read into tensors (CPU, dtype as stored).
#pragma once

#include <cstdint>
#include <map>
#include <string>

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
  // A root attribute (string or integer).
  std::string string_attribute(const std::string& name) const;
  std::int64_t int_attribute(const std::string& name) const;

 private:
  std::string path_;
  std::int64_t file_ = -1;  // hid_t
};

}  // namespace sgm::data
