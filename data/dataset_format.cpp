#include "data/dataset_format.h"

#include <fmt/format.h>

namespace sgm::data {

std::string shard_file_name(const std::string& name, std::int64_t index, std::int64_t count) {
  return fmt::format("{}-{:05d}-of-{:05d}.h5", name, index, count);
}

std::uint64_t fnv1a(const void* data, std::size_t size, std::uint64_t state) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    state ^= bytes[i];
    state *= 1099511628211ULL;
  }
  return state;
}

std::string hex64(std::uint64_t value) { return fmt::format("{:016x}", value); }

}  // namespace sgm::data
