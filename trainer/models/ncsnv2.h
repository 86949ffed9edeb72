// NCSNv2 (Song & Ermon 2020, "Improved techniques", arXiv 2006.09011) as score_sde's
// models/ncsnv2.py builds it: a RefineNet of residual blocks (dilated at the
// coarse levels), InstanceNorm++, RCU / MSF / CRP refinement blocks; unconditional network whose
// output is divided by sigma[label] (technique 3). ncsnv2_64: 4 levels; ncsnv2_128: 5;
// ncsnv2_256: 6. Parameter names equal the reference's (res1.0.conv1.weight, refine1.crp...).
// x: [B, C, H, W] -> [B, C, H, W]; labels [B] int64 indices into the descending sigmas.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/arg.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>

#include "trainer/models/layers.h"
#include "trainer/models/score_model.h"

namespace sgm::models {

// InstanceNorm++: h = IN(x) + alpha * (mu - mean(mu)) / sqrt(var(mu) + 1e-5); out = gamma h + beta,
// mu the per-channel means. Parameters alpha, gamma (~ N(1, 0.02^2)), beta (0).
class InstanceNorm2dPlusImpl : public torch::nn::Module {
 public:
  explicit InstanceNorm2dPlusImpl(std::int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor alpha_, gamma_, beta_;
};
TORCH_MODULE(InstanceNorm2dPlus);

// The options of NCSNv2 (score_sde's config.model for ncsnv2_*, with the data shape and noise
// levels), in LibTorch's builder style. The model registry builds them from [model], [data] and
// the SDE.
struct NCSNv2Options {
  NCSNv2Options(std::int64_t channels, std::int64_t image_size)
      : channels_(channels), image_size_(image_size) {}
  TORCH_ARG(std::int64_t, channels);
  TORCH_ARG(std::int64_t, image_size);
  TORCH_ARG(bool, centered) = false;                   // data in [-1, 1]; otherwise x -> 2x - 1
  TORCH_ARG(std::string, architecture) = "ncsnv2_64";  // ncsnv2_64 | ncsnv2_128 | ncsnv2_256
  TORCH_ARG(std::int64_t, nf) = 128;
  TORCH_ARG(std::string, normalization) = "InstanceNorm++";  // InstanceNorm++ | InstanceNorm
  TORCH_ARG(std::string, nonlinearity) = "elu";
  // The descending noise levels the output is divided by (labels index them).
  TORCH_ARG(double, sigma_min) = 0.01;
  TORCH_ARG(double, sigma_max) = 50.0;
  TORCH_ARG(std::int64_t, num_scales) = 1000;
};

class NCSNv2 : public ScoreModel {
 public:
  explicit NCSNv2(const NCSNv2Options& options);
  using ScoreModel::forward;
  // Takes no class labels (model.num_classes = 0; class_labels undefined).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels,
                        const torch::Tensor& class_labels) override;
  std::vector<std::pair<std::string, std::string>> reference_names() const override;

 private:
  struct Stage;
  NCSNv2Options o_;
  Activation act_;
  torch::Tensor sigmas_;
  Conv2d begin_conv_{nullptr}, end_conv_{nullptr};
  std::shared_ptr<torch::nn::Module> normalizer_;
  std::vector<torch::nn::ModuleList> res_;                  // res1, res2, ... (res31 for 256 px)
  std::vector<std::shared_ptr<torch::nn::Module>> refine_;  // refine1, ... in forward order
};

}  // namespace sgm::models
