// Pieces NCSN (Song & Ermon 2019) and NCSNv2 share, as score_sde's models/layers.py builds them:
// NCSN-style convolutions (PyTorch's default initialisation) and the convolution followed by a
// 2x2 mean pool.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <torch/nn/module.h>

#include "trainer/models/layers.h"

namespace sgm::models {

// A k x k convolution, stride 1. Dilated ones are padded by their dilation, as the NCSN and
// NCSNv2 authors' code does (dilated_conv3x3); score_sde's port pads every 3x3 by 1, which makes
// the dilated residual sums mismatch in shape, so its NCSN and NCSNv2 cannot run a forward pass
// (docs/models.md).
Conv2d ncsn_conv(std::int64_t in, std::int64_t out, std::int64_t k, bool bias = true,
                 std::int64_t dilation = 1);

// Convolution (stride 1) followed by the mean of the four 2x2 phases (layers.ConvMeanPool).
class ConvMeanPoolImpl : public torch::nn::Module {
 public:
  ConvMeanPoolImpl(std::int64_t in, std::int64_t out, std::int64_t k);
  torch::Tensor forward(const torch::Tensor& x);
  Conv2d conv{nullptr};
};
TORCH_MODULE(ConvMeanPool);

// The forward pass of a residual block's convolution, plain (Conv2d) or pooling (ConvMeanPool).
torch::Tensor forward_conv(const std::shared_ptr<torch::nn::Module>& conv, const torch::Tensor& x);

// RefineNet's way up, from the outputs of its stages (finest first): refinement block 0 takes
// the coarsest output alone, block i the output i places from the end and block i-1's result,
// at that output's resolution; returns the last block's result. `refine(i, inputs, shape)` runs
// block i.
using RefineStep = std::function<torch::Tensor(std::size_t, const std::vector<torch::Tensor>&,
                                               const std::vector<std::int64_t>&)>;
torch::Tensor refine_upward(const std::vector<torch::Tensor>& stage_outputs, std::size_t blocks,
                            const RefineStep& refine);

}  // namespace sgm::models
