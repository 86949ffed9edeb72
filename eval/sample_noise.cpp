#include "eval/sample_noise.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "trainer/core/error.h"

namespace sgm::eval {

SampleNoise::SampleNoise(std::uint64_t seed, const at::Tensor& indices,
                         std::vector<std::int64_t> shape, const at::Device& device)
    : rng_(seed), indices_(indices.to(at::kCPU, at::kLong)), device_(device) {
  if (indices_.numel() > 0 && (indices_.min().item<std::int64_t>() < 0 ||
                               indices_.max().item<std::int64_t>() >= (std::int64_t{1} << 32))) {
    throw core::UsageError("sample indices must lie in [0, 2^32)");
  }
  full_shape_ = {indices_.size(0)};
  for (std::int64_t s : shape) {
    full_shape_.push_back(s);
    dim_ *= s;
  }
}

// The draw number goes into the high 32 bits of the counter's index words.
at::Tensor SampleNoise::keyed(std::int64_t k) const { return indices_ + (k << 32); }

at::Tensor SampleNoise::normal(core::RngStream stream, std::int64_t k) const {
  return rng_.normal(keyed(k), dim_, stream).view(full_shape_).to(device_);
}

at::Tensor SampleNoise::rademacher(core::RngStream stream, std::int64_t k) const {
  return rng_.words(keyed(k), dim_, stream)
      .remainder(2)
      .mul(2)
      .sub(1)
      .to(at::kFloat)
      .view(full_shape_)
      .to(device_);
}

at::Tensor SampleNoise::uniform(core::RngStream stream, std::int64_t k) const {
  return rng_.uniform(keyed(k), dim_, stream).view(full_shape_).to(device_);
}

}  // namespace sgm::eval
