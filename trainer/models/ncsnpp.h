// NCSN++ and DDPM++ (score_sde's models/ncsnpp.py; Song et al. 2021 App. H):
// a U-Net of BigGAN/DDPM residual blocks with attention, FIR or naive resampling, optional
// input/output image pyramids, Fourier or sinusoidal noise embedding, output / sigma.
// x: [B, C, H, W] -> [B, C, H, W]; labels [B]: sigma (Fourier) or 999 t / index (positional).
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

// The options of NCSN++ / DDPM++ (score_sde's config.model for ncsnpp, with the data shape and
// noise levels the network needs), in LibTorch's builder style:
//   NCSNpp(NCSNppOptions(3, 32).nf(64).ch_mult({1, 2})). Defaults: score_sde's
// ve/cifar10_ncsnpp_continuous. The model registry builds them from [model], [data] and the SDE.
struct NCSNppOptions {
  NCSNppOptions(std::int64_t channels, std::int64_t image_size)
      : channels_(channels), image_size_(image_size) {}
  TORCH_ARG(std::int64_t, channels);
  TORCH_ARG(std::int64_t, image_size);
  TORCH_ARG(bool, centered) = false;  // data in [-1, 1]; otherwise x -> 2x - 1 first
  TORCH_ARG(std::int64_t, nf) = 128;
  TORCH_ARG(std::vector<std::int64_t>, ch_mult) = std::vector<std::int64_t>{1, 2, 2, 2};
  TORCH_ARG(std::int64_t, num_res_blocks) = 4;
  TORCH_ARG(std::vector<std::int64_t>, attn_resolutions) = std::vector<std::int64_t>{16};
  TORCH_ARG(double, dropout) = 0.1;
  TORCH_ARG(std::string, nonlinearity) = "swish";
  TORCH_ARG(bool, resamp_with_conv) = true;
  TORCH_ARG(bool, conditional) = true;
  TORCH_ARG(bool, fir) = true;
  TORCH_ARG(std::vector<std::int64_t>, fir_kernel) = std::vector<std::int64_t>{1, 3, 3, 1};
  TORCH_ARG(bool, skip_rescale) = true;
  TORCH_ARG(std::string, resblock_type) = "biggan";        // biggan | ddpm
  TORCH_ARG(std::string, progressive) = "none";            // none | output_skip | residual
  TORCH_ARG(std::string, progressive_input) = "residual";  // none | input_skip | residual
  TORCH_ARG(std::string, progressive_combine) = "sum";     // sum | cat
  TORCH_ARG(std::string, embedding_type) = "fourier";      // fourier | positional
  TORCH_ARG(double, init_scale) = 0.0;
  TORCH_ARG(double, fourier_scale) = 16.0;
  TORCH_ARG(bool, scale_by_sigma) = true;
  // The `sigmas` buffer (positional labels index it) and whether labels are continuous.
  TORCH_ARG(double, sigma_min) = 0.01;
  TORCH_ARG(double, sigma_max) = 50.0;
  TORCH_ARG(std::int64_t, num_scales) = 1000;
  TORCH_ARG(std::int64_t, num_classes) = 0;  // > 0: class-conditional (class_embedding.h)
  TORCH_ARG(bool, continuous) = true;
};

class NCSNpp : public ScoreModel {
 public:
  explicit NCSNpp(const NCSNppOptions& options);
  using ScoreModel::forward;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels,
                        const torch::Tensor& class_labels) override;
  std::int64_t num_classes() const override { return o_.num_classes(); }
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
    Conv2d pyramid_conv{nullptr};
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

  NCSNppOptions o_;
  Activation act_;
  std::vector<std::int64_t> resolutions_;
  torch::Tensor sigmas_;  // float64 [N], descending: the reference's `sigmas` buffer
  GaussianFourierProjection fourier_{nullptr};
  torch::nn::Linear dense_0_{nullptr}, dense_1_{nullptr};
  ClassEmbedding class_embedding_{nullptr};  // model.num_classes > 0
  Conv2d conv_in_{nullptr};
  std::vector<DownLevel> down_;
  std::shared_ptr<ResBlock> mid_res_0_, mid_res_1_;
  AttnBlockpp mid_attn_{nullptr};
  std::vector<UpLevel> up_;  // index = level (0 is the full resolution)
  // Non-learned pyramid resamplers (input_skip / output_skip): not among all_modules.
  Downsample pyramid_downsample_{nullptr};
  Upsample pyramid_upsample_{nullptr};
  torch::nn::GroupNorm out_norm_{nullptr};
  Conv2d out_conv_{nullptr};
  ReferenceModules reference_modules_;
};

// The descending float64 noise levels exp(linspace(ln sigma_max, ln sigma_min, N)).
torch::Tensor reference_sigmas(double sigma_min, double sigma_max, std::int64_t num_scales);

}  // namespace sgm::models
