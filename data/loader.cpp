#include "data/loader.h"

#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "trainer/core/error.h"
#include "trainer/core/rng.h"

namespace sgm::data {

Batch load_batch(const ShardedDataset& dataset, const at::Tensor& memory, const SampleOrder& order,
                 const LoaderOptions& o, std::int64_t cursor, at::Tensor buffer) {
  const std::int64_t B = o.global_batch / o.world_size;
  const std::int64_t H = dataset.height(), W = dataset.width(), C = dataset.channels();
  Batch batch;
  batch.positions = at::arange(cursor + o.rank * B, cursor + (o.rank + 1) * B, at::kLong);
  batch.ids = at::empty({B}, at::kLong);
  const std::int64_t bytes = dataset.image_bytes();
  std::int64_t* ids = batch.ids.data_ptr<std::int64_t>();
  for (std::int64_t b = 0; b < B; ++b) ids[b] = order.sample_at(cursor + o.rank * B + b);
  // Source pixels: straight from the in-memory copy, or read image by image into a batch buffer.
  at::Tensor raw;
  std::vector<const char*> source(static_cast<std::size_t>(B));
  if (memory.defined()) {
    for (std::int64_t b = 0; b < B; ++b)
      source[b] = static_cast<const char*>(memory.data_ptr()) + ids[b] * bytes;
  } else {
    raw = at::empty({B, H, W, C}, dataset.dtype());
    for (std::int64_t b = 0; b < B; ++b) {
      char* dst = static_cast<char*>(raw.data_ptr()) + b * bytes;
      dataset.read_image(ids[b], dst);
      source[b] = dst;
    }
  }
  if (dataset.labelled()) {
    batch.labels = at::empty({B}, at::kLong);
    for (std::int64_t b = 0; b < B; ++b)
      batch.labels.data_ptr<std::int64_t>()[b] = dataset.label(ids[b]);
  }
  // Continuous data (float32, the 2-D toys) is used as stored: the image transforms do not apply.
  if (buffer.defined()) {
    SGM_CHECK(buffer.scalar_type() == at::kFloat && buffer.is_contiguous() &&
                  buffer.sizes() == at::IntArrayRef({B, C, H, W}),
              "load_batch: output buffer is not float32 [{}, {}, {}, {}]", B, C, H, W);
    batch.images = std::move(buffer);
  } else {
    batch.images = at::empty({B, C, H, W}, at::kFloat);
  }
  if (dataset.is_float()) {
    float* out = batch.images.data_ptr<float>();
    for (std::int64_t b = 0; b < B; ++b) {
      const auto* src = reinterpret_cast<const float*>(source[b]);
      for (std::int64_t hw = 0; hw < H * W; ++hw)
        for (std::int64_t c = 0; c < C; ++c) out[(b * C + c) * H * W + hw] = src[hw * C + c];
    }
    return batch;
  }
  // uint8 HWC -> float CHW with flip, dequantisation and scaling fused into one pass per sample
  // (no batch-sized temporaries); randomness keyed by the global stream position.
  const core::CounterRng rng(o.seed);
  const std::int64_t* positions = batch.positions.data_ptr<std::int64_t>();
  float* images = batch.images.data_ptr<float>();
  const float scale = o.uniform_dequantization ? 1.0f / 256.0f : 1.0f / 255.0f;
  at::parallel_for(0, B, 1, [&](std::int64_t begin, std::int64_t end) {
    std::vector<float> noise(static_cast<std::size_t>(o.uniform_dequantization ? C * H * W : 0));
    for (std::int64_t b = begin; b < end; ++b) {
      float u = 1.0f;
      if (o.random_flip) rng.uniform_into(positions[b], 1, core::RngStream::kFlip, &u);
      const bool flip = u < 0.5f;
      if (o.uniform_dequantization)
        rng.uniform_into(positions[b], C * H * W, core::RngStream::kDequantize, noise.data());
      const auto* src = reinterpret_cast<const std::uint8_t*>(source[b]);
      float* out = images + b * C * H * W;
      for (std::int64_t c = 0; c < C; ++c) {
        for (std::int64_t h = 0; h < H; ++h) {
          for (std::int64_t w = 0; w < W; ++w) {
            const std::int64_t chw = (c * H + h) * W + w;
            float v = static_cast<float>(src[(h * W + (flip ? W - 1 - w : w)) * C + c]);
            if (o.uniform_dequantization) v += noise[static_cast<std::size_t>(chw)];
            v *= scale;
            out[chw] = o.centered ? 2 * v - 1 : v;
          }
        }
      }
    }
  });
  return batch;
}

Loader::Loader(std::shared_ptr<const ShardedDataset> dataset, LoaderOptions options,
               std::int64_t cursor)
    : dataset_(std::move(dataset)),
      options_(options),
      order_(dataset_->size(), options.global_batch, options.seed),
      cursor_(cursor),
      next_to_read_(cursor) {
  if (options_.world_size < 1 || options_.rank < 0 || options_.rank >= options_.world_size) {
    throw core::Error(fmt::format("rank {} of world size {}", options_.rank, options_.world_size));
  }
  if (options_.global_batch % options_.world_size != 0) {
    throw core::UsageError(fmt::format("training.batch_size = {} is not divisible by the {} ranks",
                                       options_.global_batch, options_.world_size));
  }
  if (cursor % options_.global_batch != 0) {
    throw core::UsageError(fmt::format("data cursor {} is not a multiple of the global batch {}",
                                       cursor, options_.global_batch));
  }
  if (options_.in_memory) memory_ = dataset_->read_all_images();
  if (options_.prefetch > 0) reader_ = std::thread([this] { reader_loop(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  if (reader_.joinable()) reader_.join();
}

void Loader::reader_loop() {
  while (true) {
    std::int64_t cursor = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(
          lock, [this] { return stop_ || static_cast<int>(ready_.size()) < options_.prefetch; });
      if (stop_) return;
      cursor = next_to_read_;
    }
    try {
      Batch batch = load_batch(*dataset_, memory_, order_, options_, cursor, take_buffer());
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.push_back(std::move(batch));
      next_to_read_ = cursor + options_.global_batch;
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      failure_ = std::current_exception();
      changed_.notify_all();
      return;
    }
    changed_.notify_all();
  }
}

at::Tensor Loader::take_buffer() {
  // A buffer is free when the pool's handle is the only reference to it and to its storage
  // (a view the caller kept holds the storage). Nobody else can gain a reference meanwhile.
  for (const at::Tensor& b : buffers_) {
    if (b.use_count() == 1 && b.storage().use_count() == 1) return b;
  }
  at::Tensor fresh = at::empty(
      {local_batch(), dataset_->channels(), dataset_->height(), dataset_->width()}, at::kFloat);
  // All held: the pool lets go of the oldest (its holder keeps it) so it stays prefetch + 2 long.
  if (static_cast<int>(buffers_.size()) >= options_.prefetch + 2) buffers_.erase(buffers_.begin());
  buffers_.push_back(fresh);
  return fresh;
}

Batch Loader::next() {
  Batch batch;
  if (options_.prefetch == 0) {
    batch = load_batch(*dataset_, memory_, order_, options_, cursor_);
  } else {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return !ready_.empty() || failure_; });
    if (ready_.empty()) std::rethrow_exception(failure_);
    batch = std::move(ready_.front());
    ready_.pop_front();
    lock.unlock();
    changed_.notify_all();
  }
  cursor_ += options_.global_batch;
  return batch;
}

}  // namespace sgm::data
