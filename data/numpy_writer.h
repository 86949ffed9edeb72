// Writing NumPy files: .npy (format 1.0) and .npz archives (zip, stored entries with CRC-32 and a
// central directory, as numpy.savez writes them), for reference statistics (mu, sigma) and
// sample files that Python tools read with numpy.load.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace sgm::data {

// The bytes of a .npy file holding t (CPU copy, C order, little-endian; bool, uint8, int8..64,
// float32/64).
std::string format_npy(const at::Tensor& t);

// Writes name.npy entries into a new .npz at `path`, atomically (temporary file, fsync, rename).
// Each entry must stay below 4 GiB (no zip64).
void write_npz(const std::string& path,
               const std::vector<std::pair<std::string, at::Tensor>>& arrays);

}  // namespace sgm::data
