// Per-sample randomness of the samplers and the likelihood: standard normal (or Rademacher)
// draws keyed by (seed, stream, global sample index, draw number), so a sample's noise does not
// depend on the batch, the rank or the world size that computes it.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trainer/core/rng.h"

namespace sgm::eval {

class SampleNoise {
 public:
  // indices: [B] int64 global sample indices (< 2^32); shape: one sample's shape ([C, H, W]).
  SampleNoise(std::uint64_t seed, const at::Tensor& indices, std::vector<std::int64_t> shape,
              const at::Device& device);
  // The k-th draw (k = 0, 1, ...) of `stream` for every sample: [B, shape...] float32.
  at::Tensor normal(core::RngStream stream, std::int64_t k) const;
  // +-1 with probability 1/2 each, same keying.
  at::Tensor rademacher(core::RngStream stream, std::int64_t k) const;
  // Uniform [0, 1), same keying.
  at::Tensor uniform(core::RngStream stream, std::int64_t k) const;
  // The next draw of the sampler stream (a counter kept by this object).
  at::Tensor next() { return normal(core::RngStream::kSampler, draws_++); }
  std::int64_t batch() const { return indices_.size(0); }

 private:
  at::Tensor keyed(std::int64_t k) const;
  core::CounterRng rng_;
  at::Tensor indices_;
  std::vector<std::int64_t> full_shape_;
  std::int64_t dim_ = 1;
  at::Device device_;
  std::int64_t draws_ = 0;
};

}  // namespace sgm::eval
