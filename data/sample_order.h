// The global sample order: stream position p -> sample id, the same for every
// rank and world size. With N samples and global batch G, an epoch has N_eff = floor(N/G) G
// positions (the last partial batch is dropped); epoch e = p / N_eff visits pi_e(p mod N_eff),
// where pi_e is a pseudo-random permutation of [0, N) keyed by (seed, e): a 4-round Feistel
// network over Philox with cycle walking, so no permutation is stored and any p is O(1).
#pragma once

#include <cstdint>

namespace sgm::data {

class SampleOrder {
 public:
  SampleOrder(std::int64_t num_samples, std::int64_t global_batch, std::uint64_t seed);
  // Throws core::UsageError naming training.batch_size unless 0 < global_batch <= num_samples
  // (the constructor's check, for callers that want it before anything is written).
  static void check(std::int64_t num_samples, std::int64_t global_batch);

  std::int64_t num_samples() const { return n_; }
  std::int64_t positions_per_epoch() const { return per_epoch_; }
  std::int64_t epoch_of(std::int64_t position) const { return position / per_epoch_; }
  // The sample visited at stream position p (p >= 0).
  std::int64_t sample_at(std::int64_t position) const;
  // pi_epoch(i) for i in [0, N): a bijection of [0, N).
  std::int64_t permute(std::int64_t epoch, std::int64_t i) const;

 private:
  std::int64_t n_;
  std::int64_t per_epoch_;
  std::uint64_t seed_;
  int half_bits_;  // the Feistel domain is [0, 4^half_bits) >= N
};

}  // namespace sgm::data
