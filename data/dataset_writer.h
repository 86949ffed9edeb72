// Writes a dataset in the sgm format, atomically: the shards are written into a temporary
// directory beside the target, fsynced, and renamed into place, so a dataset directory is
// either complete or absent. Streamed: each shard is built in memory from slices of about
// 16 MiB read from the source, then written whole, so memory holds one shard and one slice
// whatever the dataset's size.
#pragma once

#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

#include "data/image_stream.h"

namespace sgm::core {
class Progress;
}

namespace sgm::data {

struct WriteOptions {
  std::string name = "data";    // shard file prefix
  std::int64_t num_shards = 0;  // 0: as few as keep each shard under shard_mib
  std::int64_t shard_mib = 128;
  std::int64_t num_classes = 0;  // with labels: at least max(label) + 1 (0: inferred)
  std::string source;            // recorded in every shard (empty: the stream's)
  bool overwrite = false;        // replace an existing directory
};

// The number of shards `o` gives for `count` images of `image_bytes` each.
std::int64_t shard_count(std::int64_t count, std::int64_t image_bytes, const WriteOptions& o);

// core::UsageError naming `dir` when it exists and `o` does not allow overwriting it (what
// write_dataset checks first; callers may check before they start reading their input).
void check_output(const std::string& dir, const WriteOptions& o);

// Throws core::UsageError naming the directory when it exists (and !overwrite) or cannot be
// written, or naming the input when a slice cannot be read; nothing is left behind. `progress`
// (optional) counts the images written.
void write_dataset(const std::string& dir, const ImageStream& source, const WriteOptions& options,
                   core::Progress* progress = nullptr);

// images: uint8 (or float32, for continuous data) [N, H, W, C]; labels: int32/int64 [N] or
// undefined.
void write_dataset(const std::string& dir, const at::Tensor& images, const at::Tensor& labels,
                   const WriteOptions& options);

}  // namespace sgm::data
