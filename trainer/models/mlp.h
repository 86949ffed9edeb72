// model.name = mlp: a small fully connected score network for low-dimensional data (the 2-D toy
// sets, stored as [N, 1, 1, 2]), which the convolutional networks cannot take. Not in
// score_sde; built from its pieces:
//   - the noise label is embedded as in NCSN++: Gaussian Fourier features of log(sigma)
//     (model.embedding_type = fourier, model.fourier_scale), or DDPM's sinusoidal embedding of
//     the label (positional), then two dense layers (nf * 4 wide);
//   - x (flattened) -> dense(nf * 4) -> num_res_blocks residual blocks
//     h + dense(act(dense(act(h) + temb))) -> dense to the data size;
//   - with model.scale_by_sigma (VE) the output is divided by sigma, as NCSN++ does;
//   - with model.num_classes = K > 0 the class is added to the noise embedding before its dense
//     layers (class_embedding.h).
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include "trainer/models/class_embedding.h"
#include "trainer/models/layers.h"
#include "trainer/models/score_model.h"

namespace sgm::models {

// The options of the residual MLP, in LibTorch's builder style; the model registry builds them
// from [model] (nf, num_res_blocks, embedding_type, ...), [data] and training.continuous.
struct MlpOptions {
  MlpOptions(std::int64_t channels, std::int64_t image_size)
      : channels_(channels), image_size_(image_size) {}
  TORCH_ARG(std::int64_t, channels);
  TORCH_ARG(std::int64_t, image_size);
  TORCH_ARG(std::int64_t, nf) = 128;  // width 4 nf
  TORCH_ARG(std::int64_t, num_res_blocks) = 4;
  TORCH_ARG(std::string, nonlinearity) = "swish";
  TORCH_ARG(std::string, embedding_type) = "fourier";  // fourier | positional
  TORCH_ARG(double, fourier_scale) = 16.0;
  TORCH_ARG(bool, scale_by_sigma) = true;  // VE: divide by the label sigma(t)
  TORCH_ARG(bool, continuous) = true;
  TORCH_ARG(std::int64_t, num_classes) = 0;  // > 0: class-conditional (class_embedding.h)
};

class MlpScore : public ScoreModel {
 public:
  explicit MlpScore(const MlpOptions& options);
  using ScoreModel::forward;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels,
                        const torch::Tensor& class_labels) override;
  std::int64_t num_classes() const override { return options_.num_classes(); }
  std::vector<std::pair<std::string, std::string>> reference_names() const override { return {}; }

 private:
  MlpOptions options_;
  std::int64_t data_size_;
  std::int64_t width_;
  GaussianFourierProjection fourier_{nullptr};
  ClassEmbedding class_embedding_{nullptr};
  torch::nn::Linear temb0_{nullptr}, temb1_{nullptr}, input_{nullptr}, output_{nullptr};
  torch::nn::ModuleList blocks_;  // per block: dense(width), dense(width) for temb, dense(width)
  Activation act_;
};

}  // namespace sgm::models
