#include "data/dataset_format.h"

#include <fmt/format.h>

namespace sgm::data {

std::string shard_file_name(const std::string& name, std::int64_t index, std::int64_t count) {
  return fmt::format("{}-{:05d}-of-{:05d}.h5", name, index, count);
}

}  // namespace sgm::data
