// Writes a dataset in the sgm format from images in memory, atomically: the shards are written
// into a temporary directory beside the target, fsynced, and renamed into place, so a dataset
// directory is either complete or absent.
#pragma once

#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

namespace sgm::data {

struct WriteOptions {
  std::string name = "data";  // shard file prefix
  std::int64_t num_shards = 1;
  std::int64_t num_classes = 0;  // with labels: at least max(label) + 1 (0: inferred)
  std::string source;            // recorded in every shard
  bool overwrite = false;        // replace an existing directory
};

// images: uint8 (or float32, for continuous data) [N, H, W, C]; labels: int32/int64 [N] or
// undefined. Throws core::UsageError naming the directory when it exists (and !overwrite) or cannot
// be written.
void write_dataset(const std::string& dir, const at::Tensor& images, const at::Tensor& labels,
                   const WriteOptions& options);

}  // namespace sgm::data
