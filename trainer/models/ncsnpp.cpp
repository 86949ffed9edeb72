#include "trainer/models/ncsnpp.h"

#include <algorithm>
#include <cmath>

#include <torch/nn/functional/activation.h>

#include "trainer/core/error.h"

namespace sgm::models {
namespace {

const double kInvSqrt2 = 1.0 / std::sqrt(2.0);

bool contains(const std::vector<std::int64_t>& values, std::int64_t v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

torch::Tensor rescaled_sum(const torch::Tensor& a, const torch::Tensor& b, bool skip_rescale) {
  return skip_rescale ? a.add(b).mul(kInvSqrt2) : a.add(b);
}

}  // namespace

torch::Tensor reference_sigmas(double sigma_min, double sigma_max, std::int64_t num_scales) {
  return torch::linspace(std::log(sigma_max), std::log(sigma_min), num_scales, torch::kDouble)
      .exp();
}

std::shared_ptr<ResBlock> NCSNpp::res_block(std::int64_t in, std::int64_t out, bool up, bool down) {
  ResBlockOptions r;
  r.act = act_;
  r.in_ch = in;
  r.out_ch = out;
  r.temb_dim = 4 * o_.nf();
  r.up = up;
  r.down = down;
  r.dropout = o_.dropout();
  r.fir = o_.fir();
  r.fir_kernel = o_.fir_kernel();
  r.skip_rescale = o_.skip_rescale();
  r.init_scale = o_.init_scale();
  if (o_.resblock_type() == "ddpm") return std::make_shared<ResnetBlockDDPMpp>(r);
  return std::make_shared<ResnetBlockBigGANpp>(r);
}

NCSNpp::NCSNpp(const NCSNppOptions& options)
    : o_(options), act_(activation(options.nonlinearity())) {
  SGM_CHECK(o_.resblock_type() == "biggan" || o_.resblock_type() == "ddpm", "resblock_type {}",
            o_.resblock_type());
  SGM_CHECK(o_.embedding_type() == "fourier" || o_.embedding_type() == "positional",
            "embedding_type {}", o_.embedding_type());
  if (o_.embedding_type() == "fourier" && !o_.continuous()) {
    throw core::UsageError("model.embedding_type: fourier needs training.continuous = true");
  }
  const std::int64_t levels = static_cast<std::int64_t>(o_.ch_mult().size());
  const std::int64_t nf = o_.nf();
  const std::int64_t channels = o_.channels();
  for (std::int64_t l = 0; l < levels; ++l) resolutions_.push_back(o_.image_size() >> l);
  sigmas_ =
      register_buffer("sigmas", reference_sigmas(o_.sigma_min(), o_.sigma_max(), o_.num_scales()));
  const bool cat = o_.progressive_combine() == "cat";
  pyramid_downsample_ = Downsample(channels, channels, false, o_.fir(), o_.fir_kernel());
  pyramid_upsample_ = Upsample(channels, channels, false, o_.fir(), o_.fir_kernel());

  // Noise embedding: Fourier features of log(sigma), or the sinusoid of the label; then an MLP.
  auto embed = namespace_module(*this, "embed");
  std::int64_t embed_dim = nf;
  if (o_.embedding_type() == "fourier") {
    fourier_ = add(*embed, "embed", "fourier", GaussianFourierProjection(nf, o_.fourier_scale()));
    embed_dim = 2 * nf;
  }
  if (o_.conditional()) {
    dense_0_ = add(*embed, "embed", "dense_0", dense(embed_dim, 4 * nf));
    dense_1_ = add(*embed, "embed", "dense_1", dense(4 * nf, 4 * nf));
  }
  // Classes join the noise embedding before its dense layers; score_sde has no counterpart.
  if (o_.num_classes() > 0) {
    if (!o_.conditional())
      throw core::UsageError("model.num_classes > 0 needs model.conditional = true");
    class_embedding_ =
        register_module("class_embedding", ClassEmbedding(o_.num_classes(), embed_dim));
  }
  conv_in_ = add(*this, "", "conv_in", conv3x3(channels, nf));

  // Down path: blocks per level, attention at attn_resolutions, then resampling and pyramid.
  std::vector<std::int64_t> hs_c = {nf};
  std::int64_t in_ch = nf;
  std::int64_t pyramid_ch = channels;
  auto down = namespace_module(*this, "down");
  for (std::int64_t l = 0; l < levels; ++l) {
    const std::string path = "down." + std::to_string(l);
    auto level = namespace_module(*down, std::to_string(l));
    DownLevel d;
    for (std::int64_t b = 0; b < o_.num_res_blocks(); ++b) {
      const std::int64_t out_ch = nf * o_.ch_mult()[l];
      d.res.push_back(add(*level, path, "res_" + std::to_string(b), res_block(in_ch, out_ch)));
      in_ch = out_ch;
      if (contains(o_.attn_resolutions(), resolutions_[l])) {
        d.attn.push_back(add(*level, path, "attn_" + std::to_string(b),
                             AttnBlockpp(in_ch, o_.skip_rescale(), o_.init_scale())));
      }
      hs_c.push_back(in_ch);
    }
    if (l != levels - 1) {
      if (o_.resblock_type() == "ddpm") {
        d.down = add(*level, path, "down",
                     Downsample(in_ch, in_ch, o_.resamp_with_conv(), o_.fir(), o_.fir_kernel()));
      } else {
        d.down_block = add(*level, path, "down", res_block(in_ch, in_ch, false, true));
      }
      if (o_.progressive_input() == "input_skip") {
        d.combine = add(*level, path, "combine", Combine(pyramid_ch, in_ch, cat));
        if (cat) in_ch *= 2;
      } else if (o_.progressive_input() == "residual") {
        d.pyramid_down = add(*level, path, "pyramid_down",
                             Downsample(pyramid_ch, in_ch, true, o_.fir(), o_.fir_kernel()));
        pyramid_ch = in_ch;
      }
      hs_c.push_back(in_ch);
    }
    down_.push_back(std::move(d));
  }

  // Middle: residual, attention, residual.
  in_ch = hs_c.back();
  auto mid = namespace_module(*this, "mid");
  mid_res_0_ = add(*mid, "mid", "res_0", res_block(in_ch, in_ch));
  mid_attn_ = add(*mid, "mid", "attn", AttnBlockpp(in_ch, o_.skip_rescale(), o_.init_scale()));
  mid_res_1_ = add(*mid, "mid", "res_1", res_block(in_ch, in_ch));

  // Up path, from the coarsest level: num_res_blocks + 1 blocks on [h, skip], one attention,
  // the output pyramid, then upsampling.
  up_.resize(static_cast<std::size_t>(levels));
  auto up = namespace_module(*this, "up");
  std::int64_t out_pyramid_ch = 0;
  for (std::int64_t l = levels - 1; l >= 0; --l) {
    const std::string path = "up." + std::to_string(l);
    auto level = namespace_module(*up, std::to_string(l));
    UpLevel& u = up_[static_cast<std::size_t>(l)];
    for (std::int64_t b = 0; b <= o_.num_res_blocks(); ++b) {
      const std::int64_t out_ch = nf * o_.ch_mult()[l];
      const std::int64_t skip = hs_c.back();
      hs_c.pop_back();
      u.res.push_back(
          add(*level, path, "res_" + std::to_string(b), res_block(in_ch + skip, out_ch)));
      in_ch = out_ch;
    }
    if (contains(o_.attn_resolutions(), resolutions_[l])) {
      u.attn = add(*level, path, "attn", AttnBlockpp(in_ch, o_.skip_rescale(), o_.init_scale()));
    }
    if (o_.progressive() != "none") {
      if (l == levels - 1 || o_.progressive() == "output_skip") {
        u.pyramid_norm = add(*level, path, "pyramid_norm", group_norm(in_ch));
        const bool to_image = o_.progressive() == "output_skip";
        u.pyramid_conv =
            add(*level, path, "pyramid_conv",
                to_image ? conv3x3(in_ch, channels, o_.init_scale()) : conv3x3(in_ch, in_ch));
        out_pyramid_ch = to_image ? channels : in_ch;
      } else {
        u.pyramid_up = add(*level, path, "pyramid_up",
                           Upsample(out_pyramid_ch, in_ch, true, o_.fir(), o_.fir_kernel()));
        out_pyramid_ch = in_ch;
      }
    }
    if (l != 0) {
      if (o_.resblock_type() == "ddpm") {
        u.up = add(*level, path, "up",
                   Upsample(in_ch, in_ch, o_.resamp_with_conv(), o_.fir(), o_.fir_kernel()));
      } else {
        u.up_block = add(*level, path, "up", res_block(in_ch, in_ch, true, false));
      }
    }
  }
  SGM_CHECK(hs_c.empty(), "skip channels left over: {}", hs_c.size());
  if (o_.progressive() != "output_skip") {
    auto out = namespace_module(*this, "out");
    out_norm_ = add(*out, "out", "norm", group_norm(in_ch));
    out_conv_ = add(*out, "out", "conv", conv3x3(in_ch, channels, o_.init_scale()));
  }
}

torch::Tensor NCSNpp::forward(const torch::Tensor& x_in, const torch::Tensor& labels,
                              const torch::Tensor& class_labels) {
  // Noise embedding.
  torch::Tensor used_sigmas;
  torch::Tensor temb;
  if (o_.embedding_type() == "fourier") {
    used_sigmas = labels;
    temb = fourier_->forward(labels.log());
  } else {
    used_sigmas = sigmas_.index_select(0, labels.to(torch::kLong).to(sigmas_.device()));
    temb = timestep_embedding(labels, o_.nf());
  }
  if (class_embedding_)
    temb = class_embedding_->forward(temb, class_labels);
  else
    SGM_CHECK(!class_labels.defined(), "class labels for a network without classes");
  if (o_.conditional())
    temb = dense_1_->forward(act_(dense_0_->forward(temb)));
  else
    temb = torch::Tensor();

  // Data in [0, 1] are mapped to [-1, 1].
  torch::Tensor x = o_.centered() ? x_in : x_in.mul(2).sub(1);
  torch::Tensor input_pyramid = x;

  // Down path.
  std::vector<torch::Tensor> hs = {conv_in_->forward(x)};
  const std::size_t levels = down_.size();
  for (std::size_t l = 0; l < levels; ++l) {
    DownLevel& d = down_[l];
    for (std::size_t b = 0; b < d.res.size(); ++b) {
      torch::Tensor h = d.res[b]->forward(hs.back(), temb);
      if (!d.attn.empty()) h = d.attn[b]->forward(h);
      hs.push_back(h);
    }
    if (l == levels - 1) continue;
    torch::Tensor h =
        d.down_block ? d.down_block->forward(hs.back(), temb) : d.down->forward(hs.back());
    if (o_.progressive_input() == "input_skip") {
      input_pyramid = pyramid_downsample_->forward(input_pyramid);
      h = d.combine->forward(input_pyramid, h);
    } else if (o_.progressive_input() == "residual") {
      input_pyramid = rescaled_sum(d.pyramid_down->forward(input_pyramid), h, o_.skip_rescale());
      h = input_pyramid;
    }
    hs.push_back(h);
  }

  // Middle.
  torch::Tensor h = mid_res_0_->forward(hs.back(), temb);
  h = mid_res_1_->forward(mid_attn_->forward(h), temb);

  // Up path.
  torch::Tensor pyramid;
  for (std::size_t li = levels; li-- > 0;) {
    UpLevel& u = up_[li];
    for (auto& block : u.res) {
      h = block->forward(torch::cat({h, hs.back()}, 1), temb);
      hs.pop_back();
    }
    if (!u.attn.is_empty()) h = u.attn->forward(h);
    if (o_.progressive() != "none") {
      if (li == levels - 1) {
        pyramid = u.pyramid_conv->forward(act_(u.pyramid_norm->forward(h)));
      } else if (o_.progressive() == "output_skip") {
        pyramid = pyramid_upsample_->forward(pyramid).add(
            u.pyramid_conv->forward(act_(u.pyramid_norm->forward(h))));
      } else {
        pyramid = rescaled_sum(u.pyramid_up->forward(pyramid), h, o_.skip_rescale());
        h = pyramid;
      }
    }
    if (li != 0) h = u.up_block ? u.up_block->forward(h, temb) : u.up->forward(h);
  }
  SGM_CHECK(hs.empty(), "{} skip activations left over", hs.size());
  h = o_.progressive() == "output_skip" ? pyramid : out_conv_->forward(act_(out_norm_->forward(h)));

  // Output / sigma.
  if (o_.scale_by_sigma()) {
    std::vector<std::int64_t> shape(static_cast<std::size_t>(h.dim()), 1);
    shape[0] = h.size(0);
    h = h.div(used_sigmas.reshape(shape).to(h.dtype()));
  }
  return h;
}

std::vector<std::pair<std::string, std::string>> NCSNpp::reference_names() const {
  return reference_modules_.names({"sigmas"});
}

}  // namespace sgm::models
