// FIR and naive 2x resampling of StyleGAN2 as score_sde uses it (models/up_or_down_sampling.py),
// written with plain convolutions so it runs on every device: zero insertion, padding and a
// depthwise 2-D convolution with the normalised outer-product kernel.
// Shapes: x [B, C, H, W].
#pragma once

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "trainer/models/conv.h"

namespace sgm::models {

// K = outer(k, k) / sum(outer(k, k)), float32 [n, n].
torch::Tensor fir_kernel_2d(const std::vector<std::int64_t>& k);
// Upsample by `up` (zero insertion), pad (p0 before, p1 after) on H and W, convolve with
// `kernel` [n, n], keep every `down`-th sample.
torch::Tensor upfirdn2d(const torch::Tensor& x, const torch::Tensor& kernel, std::int64_t up, std::int64_t down,
                        std::int64_t p0, std::int64_t p1);
torch::Tensor upsample_2d(const torch::Tensor& x, const std::vector<std::int64_t>& k);    // [.., 2H, 2W]
torch::Tensor downsample_2d(const torch::Tensor& x, const std::vector<std::int64_t>& k);  // [.., H/2, W/2]
// Transposed 3x3 convolution with stride 2 fused with FIR upsampling; w [out, in, 3, 3].
torch::Tensor upsample_conv_2d(const torch::Tensor& x, const torch::Tensor& w, const std::vector<std::int64_t>& k);
// FIR filtering fused with a stride-2 convolution; w [out, in, 3, 3].
torch::Tensor conv_downsample_2d(const torch::Tensor& x, const torch::Tensor& w, const std::vector<std::int64_t>& k);
torch::Tensor naive_upsample_2d(const torch::Tensor& x);    // repeat each pixel 2x2
torch::Tensor naive_downsample_2d(const torch::Tensor& x);  // mean of 2x2 blocks

// up_or_down_sampling.Conv2d: parameters `weight` [out, in, 3, 3] and `bias` [out].
class FirConv2dImpl : public torch::nn::Module {
 public:
  FirConv2dImpl(std::int64_t in, std::int64_t out, bool up, bool down, std::vector<std::int64_t> kernel);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool up_, down_;
  std::vector<std::int64_t> kernel_;
  torch::Tensor weight_, bias_;
};
TORCH_MODULE(FirConv2d);

// layerspp.Upsample: nearest (+ Conv_0 3x3) or FIR (+ Conv2d_0 fused); in -> out channels.
class UpsampleImpl : public torch::nn::Module {
 public:
  UpsampleImpl(std::int64_t in, std::int64_t out, bool with_conv, bool fir, std::vector<std::int64_t> kernel);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool with_conv_, fir_;
  std::vector<std::int64_t> kernel_;
  Conv2d conv_{nullptr};
  FirConv2d fir_conv_{nullptr};
};
TORCH_MODULE(Upsample);

// layerspp.Downsample: pad (0,1,0,1) + Conv_0 3x3 stride 2, or 2x2 average, or FIR (+ Conv2d_0).
class DownsampleImpl : public torch::nn::Module {
 public:
  DownsampleImpl(std::int64_t in, std::int64_t out, bool with_conv, bool fir, std::vector<std::int64_t> kernel);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool with_conv_, fir_;
  std::vector<std::int64_t> kernel_;
  Conv2d conv_{nullptr};
  FirConv2d fir_conv_{nullptr};
};
TORCH_MODULE(Downsample);

}  // namespace sgm::models
