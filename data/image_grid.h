// Images for people: model outputs to uint8 pixels, and pixels tiled into one grid image (the
// training job's snapshot PNGs, sgm-eval's sample grids).
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace sgm::data {

// How [0, 1] values become uint8: kTruncate is score_sde's clip(x * 255, 0, 255).astype(uint8)
// (what its FID statistics saw); kRound rounds to the nearest level (EDM's +0.5 rule).
enum class Quantize { kTruncate, kRound };

// float [N, C, H, W] in the data range ([-1, 1] if centered, else [0, 1]) -> uint8 [N, H, W, C]
// on the CPU, clipped.
at::Tensor to_uint8(const at::Tensor& images, bool centered, Quantize quantize);

// uint8 [N, H, W, C] -> one uint8 grid [rows H, columns W, C], `columns` images per row in
// row-major order; slots past N stay black.
at::Tensor tile_images(const at::Tensor& images, std::int64_t columns);

}  // namespace sgm::data
