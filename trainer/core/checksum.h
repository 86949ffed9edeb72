// FNV-1a 64-bit checksums of bytes and files (dataset shards, checkpoints, parameter
// consistency across ranks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sgm::core {

inline constexpr std::uint64_t kFnvOffset = 1469598103934665603ULL;

// FNV-1a over `size` bytes, continued from `state` (start with kFnvOffset).
std::uint64_t fnv1a(const void* data, std::size_t size, std::uint64_t state = kFnvOffset);
// 16 lower-case hex digits.
std::string hex64(std::uint64_t value);
// FNV-1a of a whole file, read in pieces. Throws UsageError naming the file if it cannot be read.
std::uint64_t file_checksum(const std::string& path);

}  // namespace sgm::core
