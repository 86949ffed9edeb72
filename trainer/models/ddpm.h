// DDPM (Ho et al. 2020) as score_sde builds it (models/ddpm.py): the NCSN++
// skeleton without FIR, pyramids or sqrt(2) rescaling; GroupNorm with 32 groups; one attention
// block per up level; sinusoidal embedding of the label (discrete index or 999 t).
// x: [B, C, H, W] -> [B, C, H, W]; labels [B] int64 or float.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "trainer/core/sde_options.h"
#include "trainer/models/blocks.h"
#include "trainer/models/options.h"
#include "trainer/models/reference_modules.h"
#include "trainer/models/resample.h"
#include "trainer/models/score_model.h"

namespace sgm::models {

class DDPM : public ScoreModel {
 public:
  DDPM(const ModelOptions& options, const DataShape& data, const core::SdeOptions& sde);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels) override;
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

  ModelOptions o_;
  DataShape data_;
  Activation act_;
  std::vector<std::int64_t> resolutions_;
  torch::Tensor sigmas_;
  torch::nn::Linear dense_0_{nullptr}, dense_1_{nullptr};
  torch::nn::Conv2d conv_in_{nullptr};
  std::vector<Level> down_, up_;
  std::shared_ptr<ResBlock> mid_res_0_, mid_res_1_;
  AttnBlockpp mid_attn_{nullptr};
  torch::nn::GroupNorm out_norm_{nullptr};
  torch::nn::Conv2d out_conv_{nullptr};
  ReferenceModules reference_modules_;
};

}  // namespace sgm::models
