// Residual, attention and combine blocks of NCSN++/DDPM++ (score_sde models/layerspp.py).
// Submodule names are the reference's (GroupNorm_0, Conv_0, Dense_0, NIN_0, ...) so parameters
// read side by side with score_sde. Shapes: x [B, C, H, W], temb [B, 4 nf].
#pragma once

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "trainer/models/dropout.h"
#include "trainer/models/layers.h"

namespace sgm::models {

struct ResBlockOptions {
  Activation act;
  std::int64_t in_ch = 0;
  std::int64_t out_ch = 0;     // 0: same as in_ch
  std::int64_t temb_dim = 0;   // 0: no Dense_0 (unconditional)
  bool up = false;             // BigGAN blocks only
  bool down = false;           // BigGAN blocks only
  double dropout = 0.1;
  bool fir = false;
  std::vector<std::int64_t> fir_kernel = {1, 3, 3, 1};
  bool skip_rescale = true;
  double init_scale = 0.0;
  std::int64_t groups = 0;     // GroupNorm groups; 0: min(C/4, 32) (NCSN++), DDPM uses 32
};

// A residual block: x [B, in, H, W], temb [B, temb_dim] or undefined -> [B, out, H', W'].
class ResBlock : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb) = 0;
};

// ResnetBlockBigGANpp: resamples inside the block (both branches) when up or down.
class ResnetBlockBigGANpp : public ResBlock {
 public:
  explicit ResnetBlockBigGANpp(ResBlockOptions options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb) override;

 private:
  ResBlockOptions o_;
  torch::nn::GroupNorm GroupNorm_0{nullptr}, GroupNorm_1{nullptr};
  Conv2d Conv_0{nullptr}, Conv_1{nullptr}, Conv_2{nullptr};
  torch::nn::Linear Dense_0{nullptr};
  Dropout Dropout_0{nullptr};
};

// ResnetBlockDDPMpp: no resampling; NIN shortcut when channels change. With groups 32,
// skip_rescale false and init_scale 0 it is score_sde's DDPM block (layers.ResnetBlockDDPM).
class ResnetBlockDDPMpp : public ResBlock {
 public:
  explicit ResnetBlockDDPMpp(ResBlockOptions options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb) override;

 private:
  ResBlockOptions o_;
  torch::nn::GroupNorm GroupNorm_0{nullptr}, GroupNorm_1{nullptr};
  Conv2d Conv_0{nullptr}, Conv_1{nullptr};
  torch::nn::Linear Dense_0{nullptr};
  Dropout Dropout_0{nullptr};
  NIN NIN_0{nullptr};
};

// AttnBlockpp: single-head self-attention over all H*W positions, (x + h)/sqrt(2) if skip_rescale.
class AttnBlockppImpl : public torch::nn::Module {
 public:
  // groups: GroupNorm groups, 0 for min(C/4, 32); DDPM's AttnBlock is (groups 32, no rescale, init 0).
  AttnBlockppImpl(std::int64_t channels, bool skip_rescale, double init_scale, std::int64_t groups = 0);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool skip_rescale_;
  torch::nn::GroupNorm GroupNorm_0{nullptr};
  NIN NIN_0{nullptr}, NIN_1{nullptr}, NIN_2{nullptr}, NIN_3{nullptr};
};
TORCH_MODULE(AttnBlockpp);

// Combine (input_skip pyramid): cat[Conv_0(pyramid), h] or Conv_0(pyramid) + h.
class CombineImpl : public torch::nn::Module {
 public:
  CombineImpl(std::int64_t dim1, std::int64_t dim2, bool cat);
  torch::Tensor forward(const torch::Tensor& pyramid, const torch::Tensor& h);

 private:
  bool cat_;
  Conv2d Conv_0{nullptr};
};
TORCH_MODULE(Combine);

}  // namespace sgm::models
