// The [model] section of a configuration: the architecture options of score_sde's config.model,
// with the defaults of its ve/cifar10_ncsnpp_continuous config. Each network reads the fields it
// uses. The noise levels of [model] (sigma_*, beta_*, num_scales) are the run's SDE
// (core::SdeOptions) and model.ema_rate is the EMA's (train::EmaOptions).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trainer/core/keys.h"

namespace sgm::models {

// The names of the model registry (registry.h), "ncsnpp | ddpm | ...".
std::string model_names();

struct ModelOptions {
  std::string name = "ncsnpp";
  double dropout = 0.1;
  std::string embedding_type = "fourier";
  bool scale_by_sigma = true;
  std::string normalization = "GroupNorm";
  std::string nonlinearity = "swish";
  std::int64_t nf = 128;
  std::vector<std::int64_t> ch_mult = {1, 2, 2, 2};
  std::int64_t num_res_blocks = 4;
  std::vector<std::int64_t> attn_resolutions = {16};
  bool resamp_with_conv = true;
  bool conditional = true;
  bool fir = true;
  std::vector<std::int64_t> fir_kernel = {1, 3, 3, 1};
  bool skip_rescale = true;
  std::string resblock_type = "biggan";
  std::string progressive = "none";
  std::string progressive_input = "residual";
  std::string progressive_combine = "sum";
  std::string attention_type = "ddpm";
  double init_scale = 0.0;
  double fourier_scale = 16.0;
  std::int64_t conv_size = 3;
  std::int64_t num_classes = 0;  // > 0: class-conditional (the dataset's labels)
  // Analytic model `gaussian`: data = sum_k w_k N(mean_k 1, std_k^2 I) (one entry: a Gaussian).
  std::vector<double> gaussian_mean = {0.0};
  std::vector<double> gaussian_std = {0.5};
  std::vector<double> gaussian_weight = {1.0};

  void declare_keys(core::Keys& k) {
    k("model.name", name, model_names());
    k("model.dropout", dropout, "dropout rate inside residual blocks");
    k("model.embedding_type", embedding_type, "fourier | positional time embedding");
    k("model.scale_by_sigma", scale_by_sigma, "divide the network output by sigma");
    k("model.normalization", normalization, "GroupNorm | InstanceNorm | InstanceNorm++");
    k("model.nonlinearity", nonlinearity, "swish | elu | relu | lrelu");
    k("model.nf", nf, "base channel count");
    k("model.ch_mult", ch_mult, "channel multiplier per resolution level");
    k("model.num_res_blocks", num_res_blocks, "residual blocks per level on the down path");
    k("model.attn_resolutions", attn_resolutions, "spatial sizes that get self-attention");
    k("model.resamp_with_conv", resamp_with_conv, "ddpm-type up/downsampling with a convolution");
    k("model.conditional", conditional, "condition the network on the noise level");
    k("model.fir", fir, "FIR (StyleGAN2) resampling instead of nearest/average");
    k("model.fir_kernel", fir_kernel, "FIR kernel taps");
    k("model.skip_rescale", skip_rescale, "divide residual sums by sqrt(2)");
    k("model.resblock_type", resblock_type, "biggan | ddpm residual blocks");
    k("model.progressive", progressive, "none | output_skip | residual output pyramid");
    k("model.progressive_input", progressive_input, "none | input_skip | residual input pyramid");
    k("model.progressive_combine", progressive_combine, "sum | cat for input_skip");
    k("model.attention_type", attention_type, "ddpm (the only kind score_sde uses)");
    k("model.init_scale", init_scale, "scale of the last layer of each block (0 means 1e-10)");
    k("model.fourier_scale", fourier_scale, "std of the frozen Fourier frequencies");
    k("model.conv_size", conv_size, "convolution size (score_sde keeps 3)");
    k("model.num_classes", num_classes,
      "classes of a class-conditional network (labels of the dataset); 0: unconditional");
    k("model.gaussian_mean", gaussian_mean,
      "analytic model: mean of each mixture component (all dimensions)");
    k("model.gaussian_std", gaussian_std, "analytic model: standard deviation of each component");
    k("model.gaussian_weight", gaussian_weight, "analytic model: weight of each component");
  }
};

// What a network needs to know about its data (the [data] section).
struct DataShape {
  std::int64_t image_size = 32;
  std::int64_t num_channels = 3;
  bool centered = false;  // data in [-1, 1]; otherwise the network maps x -> 2x - 1 first

  void declare_keys(core::Keys& k) {
    k("data.image_size", image_size, "image height and width in pixels");
    k("data.num_channels", num_channels, "image channels");
    k("data.centered", centered, "scale data to [-1, 1] (else [0, 1])");
  }
};

}  // namespace sgm::models
