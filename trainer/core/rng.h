// Counter-based random numbers keyed by (seed, stream, global index): the numbers of sample i
// do not depend on the batch, rank or world size that computes them, nor on the device.
// Word j of sample i in stream s is word (j % 4) of Philox4x32-10 with
//   counter = (j / 4, s, lo32(i), hi32(i)),   key = (lo32(seed), hi32(seed)).
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace sgm::core {

// Independent uses of randomness get their own stream so they never share words.
enum class RngStream : std::uint32_t {
  kTest = 0,
  kFlip = 1,
  kDequantize = 2,
  kTime = 3,
  kNoise = 4,
  kLabel = 5,
  kProbe = 6,
  kPrior = 7,
  kSampler = 8,
  kDropout = 9,
  kProjection = 10,
  kClassDropout = 11,
};

class CounterRng {
 public:
  explicit CounterRng(std::uint64_t seed) : seed_(seed) {}
  std::uint64_t seed() const { return seed_; }

  // All functions take `index`: [B] int64 global sample positions (any device) and return a
  // [B, n] tensor on index's device. Values of row b depend only on (seed, stream, index[b]).

  // Raw 32-bit words as int64 in [0, 2^32).
  at::Tensor words(const at::Tensor& index, std::int64_t n, RngStream stream) const;
  // float32 uniform in [0, 1): (word >> 8) * 2^-24, exact on every device.
  at::Tensor uniform(const at::Tensor& index, std::int64_t n, RngStream stream) const;
  // float32 standard normal by Box-Muller on word pairs, computed in float64 and rounded.
  at::Tensor normal(const at::Tensor& index, std::int64_t n, RngStream stream) const;

  // The n uniforms of one sample written to out[0..n), the same numbers as uniform() gives for
  // that index: for fused CPU loops that should not allocate (the data loader).
  void uniform_into(std::int64_t index, std::int64_t n, RngStream stream, float* out) const;

  // The word generator written with tensor operations only (used on CUDA; on CPU a scalar
  // loop is faster). Exposed so tests can check it against the scalar reference on CPU.
  at::Tensor words_tensor_ops(const at::Tensor& index, std::int64_t n, RngStream stream) const;

 private:
  std::uint64_t seed_;
};

}  // namespace sgm::core
