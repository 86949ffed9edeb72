// DDPM (Ho et al. 2020) as score_sde builds it (models/ddpm.py): the NCSN++
// skeleton without FIR, pyramids or sqrt(2) rescaling; GroupNorm with 32 groups; one attention
// block per up level; sinusoidal embedding of the label (discrete index or 999 t).
// x: [B, C, H, W] -> [B, C, H, W]; labels [B] int64 or float.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/arg.h>

#include "trainer/models/blocks.h"
#include "trainer/models/class_embedding.h"
#include "trainer/models/reference_modules.h"
#include "trainer/models/resample.h"
#include "trainer/models/score_model.h"

namespace sgm::models {

// The options of DDPM (score_sde's config.model for ddpm, with the data shape and noise levels),
// in LibTorch's builder style. Defaults: score_sde's vp/cifar10_ddpm. The model registry builds
// them from [model], [data] and the SDE.
struct DDPMOptions {
  DDPMOptions(std::int64_t channels, std::int64_t image_size)
      : channels_(channels), image_size_(image_size) {}
  TORCH_ARG(std::int64_t, channels);
  TORCH_ARG(std::int64_t, image_size);
  TORCH_ARG(bool, centered) = true;  // data in [-1, 1]; otherwise x -> 2x - 1 first
  TORCH_ARG(std::int64_t, nf) = 128;
  TORCH_ARG(std::vector<std::int64_t>, ch_mult) = std::vector<std::int64_t>{1, 2, 2, 2};
  TORCH_ARG(std::int64_t, num_res_blocks) = 2;
  TORCH_ARG(std::vector<std::int64_t>, attn_resolutions) = std::vector<std::int64_t>{16};
  TORCH_ARG(double, dropout) = 0.1;
  TORCH_ARG(std::string, nonlinearity) = "swish";
  TORCH_ARG(bool, resamp_with_conv) = true;
  TORCH_ARG(bool, conditional) = true;
  TORCH_ARG(std::vector<std::int64_t>, fir_kernel) = std::vector<std::int64_t>{1, 3, 3, 1};
  TORCH_ARG(bool, scale_by_sigma) = false;
  // The `sigmas` buffer of the reference (kept for its parameter names).
  TORCH_ARG(double, sigma_min) = 0.01;
  TORCH_ARG(double, sigma_max) = 50.0;
  TORCH_ARG(std::int64_t, num_scales) = 1000;
  TORCH_ARG(std::int64_t, num_classes) = 0;  // > 0: class-conditional (class_embedding.h)
};

class DDPM : public ScoreModel {
 public:
  explicit DDPM(const DDPMOptions& options);
  using ScoreModel::forward;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels,
                        const torch::Tensor& class_labels) override;
  std::int64_t num_classes() const override { return o_.num_classes(); }
  std::vector<std::pair<std::string, std::string>> reference_names() const override;

 private:
  struct Level {
    std::vector<std::shared_ptr<ResBlock>> res;
    std::vector<AttnBlockpp> attn;
    Downsample down{nullptr};
    Upsample up{nullptr};
  };
  template <typename M>
  M add(torch::nn::Module& parent, const std::string& parent_path, const std::string& name,
        M module) {
    return reference_modules_.add(parent, parent_path, name, std::move(module));
  }
  std::shared_ptr<ResBlock> res_block(std::int64_t in, std::int64_t out);
  AttnBlockpp attn_block(std::int64_t channels);

  DDPMOptions o_;
  Activation act_;
  std::vector<std::int64_t> resolutions_;
  torch::Tensor sigmas_;
  torch::nn::Linear dense_0_{nullptr}, dense_1_{nullptr};
  ClassEmbedding class_embedding_{nullptr};  // model.num_classes > 0
  Conv2d conv_in_{nullptr};
  std::vector<Level> down_, up_;
  std::shared_ptr<ResBlock> mid_res_0_, mid_res_1_;
  AttnBlockpp mid_attn_{nullptr};
  torch::nn::GroupNorm out_norm_{nullptr};
  Conv2d out_conv_{nullptr};
  ReferenceModules reference_modules_;
};

}  // namespace sgm::models
