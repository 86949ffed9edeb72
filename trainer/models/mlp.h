// model.name = mlp: a small fully connected score network for low-dimensional data (the 2-D toy
// sets, stored as [N, 1, 1, 2]), which the convolutional networks cannot take. Not in
// score_sde; built from its pieces:
//   - the noise label is embedded as in NCSN++: Gaussian Fourier features of log(sigma)
//     (model.embedding_type = fourier, model.fourier_scale), or DDPM's sinusoidal embedding of
//     the label (positional), then two dense layers (nf * 4 wide);
//   - x (flattened) -> dense(nf * 4) -> num_res_blocks residual blocks
//     h + dense(act(dense(act(h) + temb))) -> dense to the data size;
//   - with model.scale_by_sigma (VE) the output is divided by sigma, as NCSN++ does.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include "trainer/core/sde_options.h"
#include "trainer/models/layers.h"
#include "trainer/models/options.h"
#include "trainer/models/score_model.h"

namespace sgm::models {

class MlpScore : public ScoreModel {
 public:
  MlpScore(const ModelOptions& options, const DataShape& data, const core::SdeOptions& sde);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels) override;
  std::vector<std::pair<std::string, std::string>> reference_names() const override { return {}; }

 private:
  ModelOptions options_;
  std::int64_t data_size_;
  std::int64_t width_;
  GaussianFourierProjection fourier_{nullptr};
  torch::nn::Linear temb0_{nullptr}, temb1_{nullptr}, input_{nullptr}, output_{nullptr};
  torch::nn::ModuleList blocks_;  // per block: dense(width), dense(width) for temb, dense(width)
  Activation act_;
};

}  // namespace sgm::models
