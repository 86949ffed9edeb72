#include "eval/dataset_batch.h"

#include <ATen/ATen.h>

namespace sgm::eval {

at::Tensor dataset_batch(const data::ShardedDataset& dataset, const at::Tensor& images,
                         const at::Tensor& items, bool centered, bool dequantize,
                         const core::CounterRng& rng) {
  const std::int64_t B = images.size(0), H = dataset.height(), W = dataset.width(),
                     C = dataset.channels();
  at::Tensor raw = at::empty({B, H, W, C}, dataset.dtype());
  const at::Tensor index = images.to(at::kCPU, at::kLong).contiguous();
  for (std::int64_t i = 0; i < B; ++i)
    dataset.read_image(index.data_ptr<std::int64_t>()[i], raw[i].data_ptr());
  at::Tensor x = raw.permute({0, 3, 1, 2}).to(at::kFloat);
  if (dataset.is_float()) return x.contiguous();
  if (dequantize) {
    const at::Tensor u = rng.uniform(items, C * H * W, core::RngStream::kDequantize);
    x = (x + u.view({B, C, H, W})) / 256;
  } else {
    x = x / 255;
  }
  return (centered ? 2 * x - 1 : x).contiguous();
}

}  // namespace sgm::eval
