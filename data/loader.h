// The training data stream of one rank. Global batch g covers stream
// positions [g G, (g+1) G); rank r of W takes the slice [g G + r B, g G + (r+1) B), B = G / W, so
// the ranks together see exactly the single-rank stream, for any W. Per-sample randomness
// (horizontal flip, uniform dequantisation) is keyed by the global position with the
// counter-based RNG. The cursor (positions consumed) is the whole state needed to resume.
// One reader thread per rank prefetches batches (HDF5 serialises its calls anyway).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <ATen/core/Tensor.h>

#include "data/sample_order.h"
#include "data/sharded_dataset.h"
#include "trainer/core/keys.h"

namespace sgm::data {

// The keys below are the loader's; rank, world_size, seed and centered are set by the training
// loop (from the communicator, the top-level seed and data.centered of the network's DataShape).
struct LoaderOptions {
  std::int64_t global_batch = 128;  // all ranks together
  int rank = 0;
  int world_size = 1;
  std::uint64_t seed = 42;
  bool random_flip = true;
  bool uniform_dequantization = false;  // (k + U) / 256
  bool centered = false;                // scale to [-1, 1] instead of [0, 1]
  bool in_memory = true;                // read the whole dataset once (small sets)
  int prefetch = 2;                     // batches the reader thread keeps ready; 0: synchronous

  void declare_keys(core::Keys& k) {
    k("training.batch_size", global_batch, "global batch size, summed over all ranks");
    k("data.random_flip", random_flip, "random horizontal flips during training");
    k("data.uniform_dequantization", uniform_dequantization,
      "add U[0, 1) noise to pixel values before scaling");
  }
};

struct Batch {
  at::Tensor images;     // float32 [B, C, H, W]
  at::Tensor labels;     // int64 [B], undefined for unlabelled data
  at::Tensor positions;  // int64 [B]: global stream positions
  at::Tensor ids;        // int64 [B]: sample indices in the dataset
};

// This rank's slice of the global batch that starts at stream position `cursor`.
// `memory` is the whole dataset (uint8 [N, H, W, C]) or undefined to read from the files.
// `buffer`, when defined, is a float32 [B, C, H, W] buffer the batch is written into.
Batch load_batch(const ShardedDataset& dataset, const at::Tensor& memory, const SampleOrder& order,
                 const LoaderOptions& options, std::int64_t cursor, at::Tensor buffer = {});

class Loader {
 public:
  // Starts at stream position `cursor` (0, or the value saved in a checkpoint); it must be a
  // multiple of the global batch.
  Loader(std::shared_ptr<const ShardedDataset> dataset, LoaderOptions options,
         std::int64_t cursor = 0);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  Batch next();
  // Stream positions consumed by the batches returned so far (save this to resume).
  std::int64_t cursor() const { return cursor_; }
  std::int64_t local_batch() const { return options_.global_batch / options_.world_size; }

 private:
  void reader_loop();
  // A batch buffer nobody holds any more, or a new one. Reusing the prefetch + 2 buffers in
  // flight keeps the loader's memory fixed (glibc would otherwise keep freed batches of a few
  // MiB in its arenas, up to several batches more) and saves the page faults of fresh memory.
  at::Tensor take_buffer();

  std::shared_ptr<const ShardedDataset> dataset_;
  LoaderOptions options_;
  SampleOrder order_;
  at::Tensor memory_;
  std::int64_t cursor_;
  // Reader thread state: batches for positions cursor_, cursor_ + G, ... in order.
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> ready_;
  std::exception_ptr failure_;
  std::int64_t next_to_read_;
  std::vector<at::Tensor> buffers_;  // reader thread only
  bool stop_ = false;
  std::thread reader_;
};

}  // namespace sgm::data
