#include "data/sample_order.h"

#include "trainer/core/error.h"
#include "trainer/core/philox.h"

namespace sgm::data {

void SampleOrder::check(std::int64_t num_samples, std::int64_t global_batch) {
  if (num_samples <= 0) throw core::UsageError("the dataset is empty");
  if (global_batch <= 0) throw core::UsageError("training.batch_size must be positive");
  if (global_batch > num_samples) {
    throw core::UsageError(
        fmt::format("training.batch_size = {} exceeds the {} samples of the dataset", global_batch,
                    num_samples));
  }
}

SampleOrder::SampleOrder(std::int64_t num_samples, std::int64_t global_batch, std::uint64_t seed)
    : n_(num_samples), seed_(seed), half_bits_(1) {
  check(num_samples, global_batch);
  per_epoch_ = num_samples / global_batch * global_batch;
  while ((std::int64_t{1} << (2 * half_bits_)) < num_samples) ++half_bits_;
}

std::int64_t SampleOrder::permute(std::int64_t epoch, std::int64_t i) const {
  const std::uint64_t mask = (std::uint64_t{1} << half_bits_) - 1;
  const core::PhiloxKey key = {static_cast<std::uint32_t>(seed_),
                               static_cast<std::uint32_t>(seed_ >> 32)};
  std::uint64_t x = static_cast<std::uint64_t>(i);
  // Cycle walking: the Feistel network permutes [0, 4^k); repeat until the value lies in [0, N).
  do {
    std::uint64_t left = x >> half_bits_, right = x & mask;
    for (std::uint32_t round = 0; round < 4; ++round) {
      const core::PhiloxCounter r = core::philox4x32_10(
          {static_cast<std::uint32_t>(right), static_cast<std::uint32_t>(right >> 32), round,
           static_cast<std::uint32_t>(epoch)},
          key);
      const std::uint64_t f = ((std::uint64_t{r[1]} << 32) | r[0]) & mask;
      const std::uint64_t next = left ^ f;
      left = right;
      right = next;
    }
    x = (left << half_bits_) | right;
  } while (x >= static_cast<std::uint64_t>(n_));
  return static_cast<std::int64_t>(x);
}

std::int64_t SampleOrder::sample_at(std::int64_t position) const {
  return permute(epoch_of(position), position % per_epoch_);
}

}  // namespace sgm::data
