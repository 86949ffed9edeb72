#include "trainer/models/blocks.h"

#include <cmath>

#include <torch/nn/functional/activation.h>

#include "trainer/models/resample.h"

namespace sgm::models {
namespace {

const double kInvSqrt2 = 1.0 / std::sqrt(2.0);

std::int64_t out_channels(const ResBlockOptions& o) { return o.out_ch > 0 ? o.out_ch : o.in_ch; }

// h + Dense_0(act(temb))[:, :, None, None] when the block is conditional.
torch::Tensor add_time(const torch::Tensor& h, const torch::Tensor& temb, torch::nn::Linear& dense, const Activation& act) {
  if (!temb.defined() || dense.is_empty()) return h;
  return h.add(dense->forward(act(temb)).unsqueeze(-1).unsqueeze(-1));
}

torch::Tensor residual_sum(const torch::Tensor& x, const torch::Tensor& h, bool skip_rescale) {
  return skip_rescale ? x.add(h).mul(kInvSqrt2) : x.add(h);
}

}  // namespace

ResnetBlockBigGANpp::ResnetBlockBigGANpp(ResBlockOptions options) : o_(std::move(options)) {
  const std::int64_t out = out_channels(o_);
  GroupNorm_0 = register_module("GroupNorm_0", group_norm(o_.in_ch, o_.groups));
  Conv_0 = register_module("Conv_0", conv3x3(o_.in_ch, out));
  if (o_.temb_dim > 0) Dense_0 = register_module("Dense_0", dense(o_.temb_dim, out));
  GroupNorm_1 = register_module("GroupNorm_1", group_norm(out, o_.groups));
  Dropout_0 = register_module("Dropout_0", Dropout(o_.dropout));
  Conv_1 = register_module("Conv_1", conv3x3(out, out, o_.init_scale));
  if (o_.in_ch != out || o_.up || o_.down) Conv_2 = register_module("Conv_2", conv1x1(o_.in_ch, out));
}

torch::Tensor ResnetBlockBigGANpp::forward(const torch::Tensor& x_in, const torch::Tensor& temb) {
  torch::Tensor x = x_in;
  torch::Tensor h = o_.act(GroupNorm_0->forward(x));
  if (o_.up) {
    h = o_.fir ? upsample_2d(h, o_.fir_kernel) : naive_upsample_2d(h);
    x = o_.fir ? upsample_2d(x, o_.fir_kernel) : naive_upsample_2d(x);
  } else if (o_.down) {
    h = o_.fir ? downsample_2d(h, o_.fir_kernel) : naive_downsample_2d(h);
    x = o_.fir ? downsample_2d(x, o_.fir_kernel) : naive_downsample_2d(x);
  }
  h = add_time(Conv_0->forward(h), temb, Dense_0, o_.act);
  h = Conv_1->forward(Dropout_0->forward(o_.act(GroupNorm_1->forward(h))));
  if (!Conv_2.is_empty()) x = Conv_2->forward(x);
  return residual_sum(x, h, o_.skip_rescale);
}

ResnetBlockDDPMpp::ResnetBlockDDPMpp(ResBlockOptions options) : o_(std::move(options)) {
  const std::int64_t out = out_channels(o_);
  GroupNorm_0 = register_module("GroupNorm_0", group_norm(o_.in_ch, o_.groups));
  Conv_0 = register_module("Conv_0", conv3x3(o_.in_ch, out));
  if (o_.temb_dim > 0) Dense_0 = register_module("Dense_0", dense(o_.temb_dim, out));
  GroupNorm_1 = register_module("GroupNorm_1", group_norm(out, o_.groups));
  Dropout_0 = register_module("Dropout_0", Dropout(o_.dropout));
  Conv_1 = register_module("Conv_1", conv3x3(out, out, o_.init_scale));
  if (o_.in_ch != out) NIN_0 = register_module("NIN_0", NIN(o_.in_ch, out));
}

torch::Tensor ResnetBlockDDPMpp::forward(const torch::Tensor& x_in, const torch::Tensor& temb) {
  torch::Tensor h = Conv_0->forward(o_.act(GroupNorm_0->forward(x_in)));
  h = add_time(h, temb, Dense_0, o_.act);
  h = Conv_1->forward(Dropout_0->forward(o_.act(GroupNorm_1->forward(h))));
  torch::Tensor x = NIN_0.is_empty() ? x_in : NIN_0->forward(x_in);
  return residual_sum(x, h, o_.skip_rescale);
}

AttnBlockppImpl::AttnBlockppImpl(std::int64_t channels, bool skip_rescale, double init_scale, std::int64_t groups)
    : skip_rescale_(skip_rescale) {
  GroupNorm_0 = register_module("GroupNorm_0", group_norm(channels, groups));
  NIN_0 = register_module("NIN_0", NIN(channels, channels));
  NIN_1 = register_module("NIN_1", NIN(channels, channels));
  NIN_2 = register_module("NIN_2", NIN(channels, channels));
  NIN_3 = register_module("NIN_3", NIN(channels, channels, init_scale));
}

torch::Tensor AttnBlockppImpl::forward(const torch::Tensor& x) {
  const std::int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  torch::Tensor h = GroupNorm_0->forward(x);
  torch::Tensor q = NIN_0->forward(h).reshape({B, C, H * W});
  torch::Tensor k = NIN_1->forward(h).reshape({B, C, H * W});
  torch::Tensor v = NIN_2->forward(h).reshape({B, C, H * W});
  // w[b, i, j] = softmax_j(q_i . k_j / sqrt(C)); o[b, c, i] = sum_j w[b, i, j] v[b, c, j]
  torch::Tensor w = torch::bmm(q.transpose(1, 2), k).mul(1.0 / std::sqrt(static_cast<double>(C))).softmax(-1);
  torch::Tensor o = torch::bmm(v, w.transpose(1, 2)).reshape({B, C, H, W});
  return residual_sum(x, NIN_3->forward(o), skip_rescale_);
}

CombineImpl::CombineImpl(std::int64_t dim1, std::int64_t dim2, bool cat) : cat_(cat) {
  Conv_0 = register_module("Conv_0", conv1x1(dim1, dim2));
}

torch::Tensor CombineImpl::forward(const torch::Tensor& pyramid, const torch::Tensor& h) {
  torch::Tensor p = Conv_0->forward(pyramid);
  return cat_ ? torch::cat({p, h}, 1) : p.add(h);
}

}  // namespace sgm::models
