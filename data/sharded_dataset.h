// Reading a dataset in the sgm format: finds and validates every shard up front (one clear
// error naming the file), then reads any sample by its global index. HDF5 file locking is off
// (read-only data on shared file systems). Not thread-safe: one reader thread per process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "data/dataset_format.h"

namespace sgm::core {
class Progress;
}

namespace sgm::data {

class ShardedDataset {
 public:
  // Throws core::UsageError naming the directory or file: missing, not HDF5, truncated, not in
  // the sgm format, shards that disagree on shape or counts, missing shards, empty dataset.
  explicit ShardedDataset(const std::string& dir);
  ~ShardedDataset();
  ShardedDataset(const ShardedDataset&) = delete;
  ShardedDataset& operator=(const ShardedDataset&) = delete;

  const std::string& dir() const { return dir_; }
  std::int64_t size() const { return total_; }
  std::int64_t height() const { return shards_[0].height; }
  std::int64_t width() const { return shards_[0].width; }
  std::int64_t channels() const { return shards_[0].channels; }
  std::int64_t num_classes() const { return shards_[0].num_classes; }
  bool labelled() const { return !labels_.empty(); }
  // uint8 pixels, or float32 for continuous data (the 2-D toy sets).
  bool is_float() const { return is_float_; }
  at::ScalarType dtype() const { return is_float_ ? at::kFloat : at::kByte; }
  std::int64_t image_bytes() const { return height() * width() * channels() * (is_float_ ? 4 : 1); }
  const std::vector<ShardInfo>& shards() const { return shards_; }
  const std::vector<std::string>& files() const { return files_; }

  // Reads image `index` (global, in [0, size)) as H*W*C elements of dtype() into `out`.
  void read_image(std::int64_t index, void* out) const;
  // Images [index, index + count) (they may span shards) into `out`, one after another.
  void read_images(std::int64_t index, std::int64_t count, void* out) const;
  std::int32_t label(std::int64_t index) const;
  // Every image, dtype() [N, H, W, C] (the in-memory mode), and labels int32 [N] if labelled.
  at::Tensor read_all_images() const;
  at::Tensor all_labels() const;

  // Throws core::UsageError naming the dataset and the config key when its images are not
  // image_size x image_size x channels (data.image_size, data.num_channels of the model).
  void check_shape(std::int64_t image_size, std::int64_t channels) const;

  // Recomputes every shard's content checksum, reading 16 MiB at a time; returns one line per
  // problem (empty: intact): an unreadable (truncated, damaged) shard or a checksum that
  // differs. `progress` (optional) counts the images checked.
  std::vector<std::string> verify_checksums(core::Progress* progress = nullptr) const;

 private:
  void open_shards(const std::string& dir);  // the constructor's work
  void close_files() noexcept;
  std::string dir_;
  std::vector<std::string> files_;
  std::vector<ShardInfo> shards_;
  std::vector<std::int64_t> starts_;                // global index of each shard's first image
  std::vector<std::int64_t> file_ids_, image_ids_;  // hid_t of files and their `images` datasets
  std::vector<std::int32_t> labels_;
  std::int64_t total_ = 0;
  bool is_float_ = false;
};

}  // namespace sgm::data
