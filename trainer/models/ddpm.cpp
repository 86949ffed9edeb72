#include "trainer/models/ddpm.h"

#include <algorithm>

#include "trainer/core/error.h"
#include "trainer/models/ncsnpp.h"

namespace sgm::models {
namespace {

constexpr std::int64_t kGroups = 32;  // score_sde's DDPM layers: GroupNorm(32, C)

bool contains(const std::vector<std::int64_t>& values, std::int64_t v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

}  // namespace

std::shared_ptr<ResBlock> DDPM::res_block(std::int64_t in, std::int64_t out) {
  ResBlockOptions r;
  r.act = act_;
  r.in_ch = in;
  r.out_ch = out;
  r.temb_dim = 4 * o_.nf();
  r.dropout = o_.dropout();
  r.skip_rescale = false;
  r.init_scale = 0.0;
  r.groups = kGroups;
  return std::make_shared<ResnetBlockDDPMpp>(r);
}

AttnBlockpp DDPM::attn_block(std::int64_t channels) {
  return AttnBlockpp(channels, false, 0.0, kGroups);
}

DDPM::DDPM(const DDPMOptions& options) : o_(options), act_(activation(options.nonlinearity())) {
  const std::int64_t levels = static_cast<std::int64_t>(o_.ch_mult().size());
  const std::int64_t nf = o_.nf();
  const std::int64_t channels = o_.channels();
  for (std::int64_t l = 0; l < levels; ++l) resolutions_.push_back(o_.image_size() >> l);
  sigmas_ =
      register_buffer("sigmas", reference_sigmas(o_.sigma_min(), o_.sigma_max(), o_.num_scales()));
  // score_sde builds its module list only inside `if conditional`; here an
  // unconditional DDPM simply has no embedding MLP.
  if (o_.conditional()) {
    auto embed = namespace_module(*this, "embed");
    dense_0_ = add(*embed, "embed", "dense_0", dense(nf, 4 * nf));
    dense_1_ = add(*embed, "embed", "dense_1", dense(4 * nf, 4 * nf));
  }
  // Classes join the noise embedding before its dense layers; score_sde has no counterpart.
  if (o_.num_classes() > 0) {
    if (!o_.conditional())
      throw core::UsageError("model.num_classes > 0 needs model.conditional = true");
    class_embedding_ = register_module("class_embedding", ClassEmbedding(o_.num_classes(), nf));
  }
  conv_in_ = add(*this, "", "conv_in", conv3x3(channels, nf));

  std::vector<std::int64_t> hs_c = {nf};
  std::int64_t in_ch = nf;
  auto down = namespace_module(*this, "down");
  for (std::int64_t l = 0; l < levels; ++l) {
    const std::string path = "down." + std::to_string(l);
    auto level = namespace_module(*down, std::to_string(l));
    Level d;
    for (std::int64_t b = 0; b < o_.num_res_blocks(); ++b) {
      const std::int64_t out_ch = nf * o_.ch_mult()[l];
      d.res.push_back(add(*level, path, "res_" + std::to_string(b), res_block(in_ch, out_ch)));
      in_ch = out_ch;
      if (contains(o_.attn_resolutions(), resolutions_[l])) {
        d.attn.push_back(add(*level, path, "attn_" + std::to_string(b), attn_block(in_ch)));
      }
      hs_c.push_back(in_ch);
    }
    if (l != levels - 1) {
      d.down = add(*level, path, "down",
                   Downsample(in_ch, in_ch, o_.resamp_with_conv(), false, o_.fir_kernel()));
      hs_c.push_back(in_ch);
    }
    down_.push_back(std::move(d));
  }

  in_ch = hs_c.back();
  auto mid = namespace_module(*this, "mid");
  mid_res_0_ = add(*mid, "mid", "res_0", res_block(in_ch, in_ch));
  mid_attn_ = add(*mid, "mid", "attn", attn_block(in_ch));
  mid_res_1_ = add(*mid, "mid", "res_1", res_block(in_ch, in_ch));

  up_.resize(static_cast<std::size_t>(levels));
  auto up = namespace_module(*this, "up");
  for (std::int64_t l = levels - 1; l >= 0; --l) {
    const std::string path = "up." + std::to_string(l);
    auto level = namespace_module(*up, std::to_string(l));
    Level& u = up_[static_cast<std::size_t>(l)];
    for (std::int64_t b = 0; b <= o_.num_res_blocks(); ++b) {
      const std::int64_t out_ch = nf * o_.ch_mult()[l];
      const std::int64_t skip = hs_c.back();
      hs_c.pop_back();
      u.res.push_back(
          add(*level, path, "res_" + std::to_string(b), res_block(in_ch + skip, out_ch)));
      in_ch = out_ch;
    }
    if (contains(o_.attn_resolutions(), resolutions_[l]))
      u.attn.push_back(add(*level, path, "attn", attn_block(in_ch)));
    if (l != 0)
      u.up = add(*level, path, "up",
                 Upsample(in_ch, in_ch, o_.resamp_with_conv(), false, o_.fir_kernel()));
  }
  SGM_CHECK(hs_c.empty(), "skip channels left over: {}", hs_c.size());
  auto out = namespace_module(*this, "out");
  out_norm_ = add(*out, "out", "norm", group_norm(in_ch, kGroups));
  out_conv_ = add(*out, "out", "conv", conv3x3(in_ch, channels, 0.0));
}

torch::Tensor DDPM::forward(const torch::Tensor& x_in, const torch::Tensor& labels,
                            const torch::Tensor& class_labels) {
  torch::Tensor temb;
  if (o_.conditional()) {
    temb = timestep_embedding(labels, o_.nf());
    if (class_embedding_) temb = class_embedding_->forward(temb, class_labels);
    temb = dense_1_->forward(act_(dense_0_->forward(temb)));
  }
  SGM_CHECK(class_embedding_ || !class_labels.defined(),
            "class labels for a network without classes");
  torch::Tensor h = o_.centered() ? x_in : x_in.mul(2).sub(1);
  std::vector<torch::Tensor> hs = {conv_in_->forward(h)};
  for (std::size_t l = 0; l < down_.size(); ++l) {
    Level& d = down_[l];
    for (std::size_t b = 0; b < d.res.size(); ++b) {
      h = d.res[b]->forward(hs.back(), temb);
      if (!d.attn.empty()) h = d.attn[b]->forward(h);
      hs.push_back(h);
    }
    if (!d.down.is_empty()) hs.push_back(d.down->forward(hs.back()));
  }
  h = mid_res_0_->forward(hs.back(), temb);
  h = mid_res_1_->forward(mid_attn_->forward(h), temb);
  for (std::size_t li = up_.size(); li-- > 0;) {
    Level& u = up_[li];
    for (auto& block : u.res) {
      h = block->forward(torch::cat({h, hs.back()}, 1), temb);
      hs.pop_back();
    }
    if (!u.attn.empty()) h = u.attn[0]->forward(h);
    if (!u.up.is_empty()) h = u.up->forward(h);
  }
  SGM_CHECK(hs.empty(), "{} skip activations left over", hs.size());
  h = out_conv_->forward(act_(out_norm_->forward(h)));
  if (o_.scale_by_sigma()) {
    torch::Tensor used = sigmas_.index_select(0, labels.to(torch::kLong).to(sigmas_.device()));
    h = h.div(used.view({-1, 1, 1, 1}).to(h.dtype()));
  }
  return h;
}

std::vector<std::pair<std::string, std::string>> DDPM::reference_names() const {
  return reference_modules_.names({"sigmas"});
}

}  // namespace sgm::models
