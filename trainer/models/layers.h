// Basic layers of score_sde's NCSN++/DDPM++ (models/layers.py, layerspp.py):
// variance-scaling init, 3x3/1x1 convolutions (models::Conv2d), NIN (a 1x1 dense layer with W [in, out]),
// the frozen Gaussian Fourier projection, the sinusoidal time embedding, GroupNorm with
// min(C/4, 32) groups, and the activations chosen by name.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "trainer/models/conv.h"

namespace sgm::models {

// variance_scaling(scale, fan_avg, uniform) of `weight` in place; scale 0 means 1e-10.
// fan_in/fan_out follow the reference: shape[1] and shape[0] times the receptive field.
void default_init_(torch::Tensor weight, double scale = 1.0);

// Conv2d 3x3 (padding 1 unless given) or 1x1 (padding 0) with default_init(init_scale), bias 0.
Conv2d conv3x3(std::int64_t in, std::int64_t out, double init_scale = 1.0, std::int64_t stride = 1,
              std::int64_t padding = 1);
Conv2d conv1x1(std::int64_t in, std::int64_t out, double init_scale = 1.0);
// Linear with default_init(1) weight and zero bias.
torch::nn::Linear dense(std::int64_t in, std::int64_t out);
// GroupNorm with eps 1e-6 and `groups` groups; 0 means min(channels / 4, 32) as every NCSN++
// layer builds it (score_sde's DDPM layers use 32).
torch::nn::GroupNorm group_norm(std::int64_t channels, std::int64_t groups = 0);

// y[b, o, h, w] = sum_i x[b, i, h, w] W[i, o] + b[o]; parameters `W` [in, out], `b` [out].
class NINImpl : public torch::nn::Module {
 public:
  NINImpl(std::int64_t in, std::int64_t out, double init_scale = 0.1);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, in, H, W] -> [B, out, H, W]

 private:
  torch::Tensor W_, b_;
};
TORCH_MODULE(NIN);

// Random Fourier features of log(sigma): W [E] ~ N(0, scale^2), not trainable.
class GaussianFourierProjectionImpl : public torch::nn::Module {
 public:
  GaussianFourierProjectionImpl(std::int64_t embedding_size, double scale);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B] -> [B, 2E] = [sin(2 pi x W), cos(2 pi x W)]

 private:
  torch::Tensor W_;
};
TORCH_MODULE(GaussianFourierProjection);

// DDPM sinusoidal embedding of timesteps [B] -> [B, dim] (zero-padded when dim is odd).
torch::Tensor timestep_embedding(const torch::Tensor& timesteps, std::int64_t dim, double max_positions = 10000);

using Activation = std::function<torch::Tensor(const torch::Tensor&)>;
// swish (SiLU) | elu | relu | lrelu (slope 0.2)
Activation activation(const std::string& name);

}  // namespace sgm::models
