// The sgm dataset format, version 1: a directory of shard
// files NAME-00000-of-000NN.h5, each holding `images` (uint8 [N, H, W, C], chunked one image per
// chunk), optional `labels` (int32 [N]) and attributes describing the shard and the whole set.
// Extension (docs/datasets.md): `images` may be float32 for continuous low-dimensional data
// (the 2-D toy sets, stored as [N, 1, 1, 2]), which 8-bit pixels cannot represent.
#pragma once

#include <cstdint>
#include <string>

namespace sgm::data {

inline constexpr const char* kFormatName = "sgm-dataset";
inline constexpr std::int64_t kFormatVersion = 1;

// What every shard of a dataset states about itself and the whole dataset.
struct ShardInfo {
  std::int64_t height = 0, width = 0, channels = 0;
  std::int64_t num_images = 0;  // in this shard
  std::int64_t shard_index = 0;
  std::int64_t num_shards = 1;
  std::int64_t total_images = 0;  // over all shards
  std::int64_t num_classes = 0;   // 0: unlabelled
  std::string source;             // how the dataset was made
  std::string checksum;           // FNV-1a 64 of this shard's image bytes then label bytes, hex
};

// "NAME-00003-of-00008.h5"
std::string shard_file_name(const std::string& name, std::int64_t index, std::int64_t count);

}  // namespace sgm::data
