#include "trainer/models/layers.h"

#include <cmath>

#include <torch/nn/functional/activation.h>
#include <torch/nn/init.h>

#include "trainer/core/error.h"

namespace sgm::models {

void default_init_(torch::Tensor weight, double scale) {
  if (scale == 0) scale = 1e-10;
  const auto shape = weight.sizes();
  SGM_CHECK(shape.size() >= 2, "default_init_ needs a weight of rank >= 2");
  double receptive = 1;
  for (std::size_t i = 2; i < shape.size(); ++i) receptive *= static_cast<double>(shape[i]);
  const double fan_in = static_cast<double>(shape[1]) * receptive;
  const double fan_out = static_cast<double>(shape[0]) * receptive;
  const double variance = scale / ((fan_in + fan_out) / 2);
  const double limit = std::sqrt(3 * variance);
  torch::NoGradGuard no_grad;
  weight.uniform_(-limit, limit);
}

Conv2d conv3x3(std::int64_t in, std::int64_t out, double init_scale, std::int64_t stride, std::int64_t padding) {
  Conv2d conv(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(padding).bias(true));
  default_init_(conv->weight, init_scale);
  torch::nn::init::zeros_(conv->bias);
  return conv;
}

Conv2d conv1x1(std::int64_t in, std::int64_t out, double init_scale) {
  Conv2d conv(torch::nn::Conv2dOptions(in, out, 1).bias(true));
  default_init_(conv->weight, init_scale);
  torch::nn::init::zeros_(conv->bias);
  return conv;
}

torch::nn::Linear dense(std::int64_t in, std::int64_t out) {
  torch::nn::Linear linear(in, out);
  default_init_(linear->weight, 1.0);
  torch::nn::init::zeros_(linear->bias);
  return linear;
}

torch::nn::GroupNorm group_norm(std::int64_t channels, std::int64_t groups) {
  if (groups <= 0) groups = std::min<std::int64_t>(channels / 4, 32);
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, channels).eps(1e-6));
}

NINImpl::NINImpl(std::int64_t in, std::int64_t out, double init_scale) {
  W_ = register_parameter("W", torch::empty({in, out}));
  b_ = register_parameter("b", torch::zeros({out}));
  default_init_(W_, init_scale);
}

torch::Tensor NINImpl::forward(const torch::Tensor& x) {
  // [B, in, H, W] -> [B, H, W, in] @ [in, out] -> [B, out, H, W]
  return torch::matmul(x.permute({0, 2, 3, 1}), W_).add(b_).permute({0, 3, 1, 2});
}

GaussianFourierProjectionImpl::GaussianFourierProjectionImpl(std::int64_t embedding_size, double scale) {
  W_ = register_parameter("W", torch::randn({embedding_size}).mul(scale), /*requires_grad=*/false);
}

torch::Tensor GaussianFourierProjectionImpl::forward(const torch::Tensor& x) {
  torch::Tensor proj = x.unsqueeze(1).mul(W_.unsqueeze(0)).mul(2 * M_PI);
  return torch::cat({proj.sin(), proj.cos()}, -1);
}

torch::Tensor timestep_embedding(const torch::Tensor& timesteps, std::int64_t dim, double max_positions) {
  const std::int64_t half = dim / 2;
  const double step = std::log(max_positions) / static_cast<double>(half - 1);
  torch::Tensor freqs = torch::arange(half, torch::TensorOptions().dtype(torch::kFloat).device(timesteps.device())).mul(-step).exp();
  torch::Tensor args = timesteps.to(torch::kFloat).unsqueeze(1).mul(freqs.unsqueeze(0));
  torch::Tensor emb = torch::cat({args.sin(), args.cos()}, 1);
  if (dim % 2 == 1) emb = torch::constant_pad_nd(emb, {0, 1});
  return emb;
}

Activation activation(const std::string& name) {
  if (name == "swish") return [](const torch::Tensor& x) { return torch::silu(x); };
  if (name == "elu") return [](const torch::Tensor& x) { return torch::elu(x); };
  if (name == "relu") return [](const torch::Tensor& x) { return torch::relu(x); };
  if (name == "lrelu") return [](const torch::Tensor& x) { return torch::leaky_relu(x, 0.2); };
  throw core::UsageError("model.nonlinearity: '" + name + "' is not one of swish, elu, relu, lrelu");
}

}  // namespace sgm::models
