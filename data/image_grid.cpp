#include "data/image_grid.h"

#include <ATen/ATen.h>

#include "trainer/core/error.h"

namespace sgm::data {

at::Tensor to_uint8(const at::Tensor& images, bool centered, Quantize quantize) {
  SGM_CHECK(images.dim() == 4, "to_uint8: images must be [N, C, H, W], got {} dimensions",
            images.dim());
  at::Tensor x = images.detach().to(at::kCPU, at::kFloat);
  if (centered) x = (x + 1) / 2;
  x = (x * 255).clamp(0, 255);
  if (quantize == Quantize::kRound) x = x.round();
  return x.to(at::kByte).permute({0, 2, 3, 1}).contiguous();  // the cast truncates
}

at::Tensor tile_images(const at::Tensor& images, std::int64_t columns) {
  SGM_CHECK(images.dim() == 4 && images.scalar_type() == at::kByte && columns >= 1,
            "tile_images: need uint8 [N, H, W, C] and columns >= 1");
  const std::int64_t N = images.size(0), H = images.size(1), W = images.size(2), C = images.size(3);
  const std::int64_t rows = (N + columns - 1) / columns;
  at::Tensor padded = at::zeros({rows * columns, H, W, C}, at::kByte);
  padded.narrow(0, 0, N).copy_(images);
  // [rows, columns, H, W, C] -> [rows, H, columns, W, C]
  return padded.view({rows, columns, H, W, C})
      .permute({0, 2, 1, 3, 4})
      .reshape({rows * H, columns * W, C})
      .contiguous();
}

}  // namespace sgm::data
