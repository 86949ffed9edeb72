// The [model] section of a configuration: every option of score_sde's config.model, with the
// defaults of its ve/cifar10_ncsnpp_continuous config. Each network reads the fields it uses
// (NCSN++/DDPM++: all architecture fields; the SDEs: sigma_*, beta_*, num_scales).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sgm::models {

struct ModelOptions {
  std::string name = "ncsnpp";
  double sigma_min = 0.01;
  double sigma_max = 50.0;
  std::int64_t num_scales = 1000;
  double beta_min = 0.1;
  double beta_max = 20.0;
  double dropout = 0.1;
  std::string embedding_type = "fourier";
  bool scale_by_sigma = true;
  double ema_rate = 0.999;
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
  // Analytic model `gaussian`: data = sum_k w_k N(mean_k 1, std_k^2 I) (one entry: a Gaussian).
  std::vector<double> gaussian_mean = {0.0};
  std::vector<double> gaussian_std = {0.5};
  std::vector<double> gaussian_weight = {1.0};
};

// What a network needs to know about its data (the [data] section and training.continuous).
struct DataShape {
  std::int64_t image_size = 32;
  std::int64_t num_channels = 3;
  bool centered = false;      // data in [-1, 1]; otherwise the network maps x -> 2x - 1 first
  bool continuous = true;     // continuous-time labels (Fourier embeddings require it)
  std::string sde = "vesde";  // training.sde: only the analytic model needs it
};

}  // namespace sgm::models
