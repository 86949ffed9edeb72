// NCSN++ and DDPM++ (score_sde's models/ncsnpp.py; Song et al. 2021 App. H):
// a U-Net of BigGAN/DDPM residual blocks with attention, FIR or naive resampling, optional
// input/output image pyramids, Fourier or sinusoidal noise embedding, output / sigma.
// x: [B, C, H, W] -> [B, C, H, W]; labels [B]: sigma (Fourier) or 999 t / index (positional).
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

class NCSNpp : public ScoreModel {
 public:
  NCSNpp(const ModelOptions& options, const DataShape& data, const core::SdeOptions& sde);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels) override;
  std::vector<std::pair<std::string, std::string>> reference_names() const override;

 private:
  struct DownLevel {
    std::vector<std::shared_ptr<ResBlock>> res;
    std::vector<AttnBlockpp> attn;         // one per block at attention resolutions
    std::shared_ptr<ResBlock> down_block;  // biggan: ResBlock(down=True)
    Downsample down{nullptr};              // ddpm: Downsample
    Combine combine{nullptr};              // progressive_input = input_skip
    Downsample pyramid_down{nullptr};      // progressive_input = residual
  };
  struct UpLevel {
    std::vector<std::shared_ptr<ResBlock>> res;
    AttnBlockpp attn{nullptr};
    torch::nn::GroupNorm pyramid_norm{nullptr};  // progressive output_skip / residual (top)
    torch::nn::Conv2d pyramid_conv{nullptr};
    Upsample pyramid_up{nullptr};        // progressive = residual, lower levels
    std::shared_ptr<ResBlock> up_block;  // biggan: ResBlock(up=True)
    Upsample up{nullptr};                // ddpm: Upsample
  };

  template <typename M>
  M add(torch::nn::Module& parent, const std::string& parent_path, const std::string& name,
        M module) {
    return reference_modules_.add(parent, parent_path, name, std::move(module));
  }
  std::shared_ptr<ResBlock> res_block(std::int64_t in, std::int64_t out, bool up = false,
                                      bool down = false);

  ModelOptions o_;
  DataShape data_;
  Activation act_;
  std::vector<std::int64_t> resolutions_;
  torch::Tensor sigmas_;  // float64 [N], descending: the reference's `sigmas` buffer
  GaussianFourierProjection fourier_{nullptr};
  torch::nn::Linear dense_0_{nullptr}, dense_1_{nullptr};
  torch::nn::Conv2d conv_in_{nullptr};
  std::vector<DownLevel> down_;
  std::shared_ptr<ResBlock> mid_res_0_, mid_res_1_;
  AttnBlockpp mid_attn_{nullptr};
  std::vector<UpLevel> up_;  // index = level (0 is the full resolution)
  // Non-learned pyramid resamplers (input_skip / output_skip): not among all_modules.
  Downsample pyramid_downsample_{nullptr};
  Upsample pyramid_upsample_{nullptr};
  torch::nn::GroupNorm out_norm_{nullptr};
  torch::nn::Conv2d out_conv_{nullptr};
  ReferenceModules reference_modules_;
};

// The descending float64 noise levels exp(linspace(ln sigma_max, ln sigma_min, N)).
torch::Tensor reference_sigmas(double sigma_min, double sigma_max, std::int64_t num_scales);

}  // namespace sgm::models
