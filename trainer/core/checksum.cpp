#include "trainer/core/checksum.h"

#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "trainer/core/error.h"

namespace sgm::core {

std::uint64_t fnv1a(const void* data, std::size_t size, std::uint64_t state) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    state ^= bytes[i];
    state *= 1099511628211ULL;
  }
  return state;
}

std::string hex64(std::uint64_t value) { return fmt::format("{:016x}", value); }

std::uint64_t file_checksum(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("cannot read " + path);
  std::vector<char> buffer(1 << 20);
  std::uint64_t state = kFnvOffset;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    state = fnv1a(buffer.data(), static_cast<std::size_t>(in.gcount()), state);
  }
  if (in.bad()) throw UsageError("cannot read " + path);
  return state;
}

}  // namespace sgm::core
