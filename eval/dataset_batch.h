// Images of a dataset split as model inputs, for the evaluation loss and bits/dim: uint8 pixels
// k become (k + u) / 256 with u keyed by (seed, item) when dequantised, else k / 255, then the
// data scaler (2x - 1 when centered); float32 (continuous) data are used as they are.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "data/sharded_dataset.h"
#include "trainer/core/rng.h"

namespace sgm::eval {

// images: dataset indices [B]; items: the keys of the dequantisation noise [B].
// Returns float32 [B, C, H, W] on the CPU.
at::Tensor dataset_batch(const data::ShardedDataset& dataset, const at::Tensor& images,
                         const at::Tensor& items, bool centered, bool dequantize,
                         const core::CounterRng& rng);

}  // namespace sgm::eval
