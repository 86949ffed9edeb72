// NCSN (Song & Ermon 2019, "Generative modeling by estimating gradients of the data
// distribution", arXiv 1907.05600) as score_sde's models/ncsnv2.py `NCSN` lays it out: a RefineNet
// of residual blocks (res1 at full resolution, res2 halving it, res3 and res4 dilated by 2 and 4),
// refinement blocks (RCU / MSF / CRP), every normalisation a conditional InstanceNorm++ keyed by
// the noise level's index: the network conditions on the label, its output is not divided by
// sigma. Parameter names equal the reference's (res1.0.normalize1.embed.weight,
// refine2.msf.convs.0.weight, ...).
// score_sde's class cannot be built as shipped (its blocks are given the unconditional
// normalisation, called with a label; a missing dilation is compared with 1; dilated 3x3
// convolutions padded by 1): sgm builds what NCSN's own code (CondRefineNetDilated) builds, the
// reference with those three repaired (docs/models.md).
// x: [B, C, H, W] -> [B, C, H, W] (H, W even); labels [B] int64 in [0, model.num_scales).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/arg.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>

#include "trainer/models/layers.h"
#include "trainer/models/score_model.h"

namespace sgm::models {

// Conditional InstanceNorm++ (layers.ConditionalInstanceNorm2dPlus, with bias):
// h = IN(x) + alpha[y] (mu - mean(mu)) / sqrt(var(mu) + 1e-5); out = gamma[y] h + beta[y], mu the
// per-channel means, (gamma, alpha, beta) one row of `embed` per class: gamma and alpha
// ~ N(1, 0.02^2), beta 0.
class ConditionalInstanceNorm2dPlusImpl : public torch::nn::Module {
 public:
  ConditionalInstanceNorm2dPlusImpl(std::int64_t channels, std::int64_t classes);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& y);
  torch::nn::Embedding embed{nullptr};

 private:
  std::int64_t channels_;
};
TORCH_MODULE(ConditionalInstanceNorm2dPlus);

// The options of NCSN (score_sde's config.model for `ncsn`, with the data shape), in LibTorch's
// builder style. The model registry builds them from [model], [data] and the SDE.
struct NCSNOptions {
  NCSNOptions(std::int64_t channels, std::int64_t image_size)
      : channels_(channels), image_size_(image_size) {}
  TORCH_ARG(std::int64_t, channels);
  TORCH_ARG(std::int64_t, image_size);
  TORCH_ARG(bool, centered) = false;  // data in [-1, 1]; otherwise x -> 2x - 1
  TORCH_ARG(std::int64_t, nf) = 128;
  TORCH_ARG(std::string, normalization) = "InstanceNorm++";  // the only one NCSN has
  TORCH_ARG(std::string, nonlinearity) = "elu";
  TORCH_ARG(std::int64_t, num_classes) = 10;  // model.num_scales: one class per noise level
};

class NCSN : public ScoreModel {
 public:
  explicit NCSN(const NCSNOptions& options);
  using ScoreModel::forward;
  // Takes no class labels (model.num_classes = 0; class_labels undefined).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels,
                        const torch::Tensor& class_labels) override;
  std::vector<std::pair<std::string, std::string>> reference_names() const override;

 private:
  NCSNOptions o_;
  Activation act_;
  Conv2d begin_conv_{nullptr}, end_conv_{nullptr};
  ConditionalInstanceNorm2dPlus normalizer_{nullptr};
  std::vector<torch::nn::ModuleList> res_;                  // res1 .. res4
  std::vector<std::shared_ptr<torch::nn::Module>> refine_;  // refine1 .. refine4
};

}  // namespace sgm::models
