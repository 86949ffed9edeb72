#include "trainer/models/resample.h"

#include <torch/nn/functional/conv.h>
#include <torch/nn/functional/padding.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/init.h>

#include "trainer/models/layers.h"

namespace sgm::models {
namespace F = torch::nn::functional;

torch::Tensor fir_kernel_2d(const std::vector<std::int64_t>& k) {
  torch::Tensor k1 = torch::tensor(std::vector<double>(k.begin(), k.end()), torch::kFloat);
  torch::Tensor k2 = torch::outer(k1, k1);
  return k2.div(k2.sum());
}

torch::Tensor upfirdn2d(const torch::Tensor& x, const torch::Tensor& kernel, std::int64_t up, std::int64_t down,
                        std::int64_t p0, std::int64_t p1) {
  const std::int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  torch::Tensor out = x;
  if (up > 1) {
    // Insert up-1 zeros after every sample along H and W.
    out = out.reshape({B, C, H, 1, W, 1});
    out = F::pad(out, F::PadFuncOptions({0, up - 1, 0, 0, 0, up - 1}));
    out = out.reshape({B, C, H * up, W * up});
  }
  // Positive padding pads, negative crops (both on H and W).
  out = F::pad(out, F::PadFuncOptions({std::max<std::int64_t>(p0, 0), std::max<std::int64_t>(p1, 0),
                                       std::max<std::int64_t>(p0, 0), std::max<std::int64_t>(p1, 0)}));
  if (p0 < 0 || p1 < 0) {
    const std::int64_t h = out.size(2), w = out.size(3);
    out = out.slice(2, std::max<std::int64_t>(-p0, 0), h - std::max<std::int64_t>(-p1, 0))
              .slice(3, std::max<std::int64_t>(-p0, 0), w - std::max<std::int64_t>(-p1, 0));
  }
  // True convolution = correlation with the flipped kernel, one channel at a time.
  const std::int64_t kh = kernel.size(0), kw = kernel.size(1);
  torch::Tensor w = kernel.flip({0, 1}).to(out.dtype()).to(out.device()).view({1, 1, kh, kw}).expand({C, 1, kh, kw});
  out = F::conv2d(out, w, F::Conv2dFuncOptions().groups(C));
  if (down > 1) out = out.slice(2, 0, out.size(2), down).slice(3, 0, out.size(3), down);
  const bool nhwc = x.suggest_memory_format() == at::MemoryFormat::ChannelsLast;
  return nhwc ? out.contiguous(at::MemoryFormat::ChannelsLast) : out;  // NHWC in, NHWC out
}

torch::Tensor upsample_2d(const torch::Tensor& x, const std::vector<std::int64_t>& k) {
  const std::int64_t factor = 2;
  torch::Tensor kernel = fir_kernel_2d(k).mul(factor * factor);
  const std::int64_t p = kernel.size(0) - factor;
  return upfirdn2d(x, kernel, factor, 1, (p + 1) / 2 + factor - 1, p / 2);
}

torch::Tensor downsample_2d(const torch::Tensor& x, const std::vector<std::int64_t>& k) {
  const std::int64_t factor = 2;
  torch::Tensor kernel = fir_kernel_2d(k);
  const std::int64_t p = kernel.size(0) - factor;
  return upfirdn2d(x, kernel, 1, factor, (p + 1) / 2, p / 2);
}

torch::Tensor upsample_conv_2d(const torch::Tensor& x, const torch::Tensor& w, const std::vector<std::int64_t>& k) {
  const std::int64_t factor = 2;
  const std::int64_t conv = w.size(3);
  torch::Tensor kernel = fir_kernel_2d(k).mul(factor * factor);
  const std::int64_t p = (kernel.size(0) - factor) - (conv - 1);
  // Flip the kernel spatially and swap in/out: conv_transpose2d takes [in, out, kh, kw].
  torch::Tensor wt = w.flip({2, 3}).transpose(0, 1);
  torch::Tensor y = F::conv_transpose2d(x, wt, F::ConvTranspose2dFuncOptions().stride(factor).padding(0));
  return upfirdn2d(y, kernel, 1, 1, (p + 1) / 2 + factor - 1, p / 2 + 1);
}

torch::Tensor conv_downsample_2d(const torch::Tensor& x, const torch::Tensor& w, const std::vector<std::int64_t>& k) {
  const std::int64_t factor = 2;
  const std::int64_t conv = w.size(3);
  torch::Tensor kernel = fir_kernel_2d(k);
  const std::int64_t p = (kernel.size(0) - factor) + (conv - 1);
  torch::Tensor y = upfirdn2d(x, kernel, 1, 1, (p + 1) / 2, p / 2);
  return F::conv2d(y, w, F::Conv2dFuncOptions().stride(factor).padding(0));
}

torch::Tensor naive_upsample_2d(const torch::Tensor& x) {
  const std::int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  return x.reshape({B, C, H, 1, W, 1}).expand({B, C, H, 2, W, 2}).reshape({B, C, H * 2, W * 2});
}

torch::Tensor naive_downsample_2d(const torch::Tensor& x) {
  const std::int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  return x.reshape({B, C, H / 2, 2, W / 2, 2}).mean({3, 5});
}

FirConv2dImpl::FirConv2dImpl(std::int64_t in, std::int64_t out, bool up, bool down, std::vector<std::int64_t> kernel)
    : up_(up), down_(down), kernel_(std::move(kernel)) {
  weight_ = register_parameter("weight", torch::empty({out, in, 3, 3}));
  bias_ = register_parameter("bias", torch::zeros({out}));
  default_init_(weight_, 1.0);
}

torch::Tensor FirConv2dImpl::forward(const torch::Tensor& x) {
  torch::Tensor y;
  if (up_) {
    y = upsample_conv_2d(x, weight_, kernel_);
  } else if (down_) {
    y = conv_downsample_2d(x, weight_, kernel_);
  } else {
    y = F::conv2d(x, weight_, F::Conv2dFuncOptions().padding(1));
  }
  return y.add(bias_.view({1, -1, 1, 1}));
}

UpsampleImpl::UpsampleImpl(std::int64_t in, std::int64_t out, bool with_conv, bool fir, std::vector<std::int64_t> kernel)
    : with_conv_(with_conv), fir_(fir), kernel_(std::move(kernel)) {
  if (!with_conv) return;
  if (fir) {
    fir_conv_ = register_module("Conv2d_0", FirConv2d(in, out, true, false, kernel_));
  } else {
    conv_ = register_module("Conv_0", conv3x3(in, out));
  }
}

torch::Tensor UpsampleImpl::forward(const torch::Tensor& x) {
  if (fir_) return with_conv_ ? fir_conv_->forward(x) : upsample_2d(x, kernel_);
  torch::Tensor h = F::interpolate(x, F::InterpolateFuncOptions()
                                          .size(std::vector<std::int64_t>{x.size(2) * 2, x.size(3) * 2})
                                          .mode(torch::kNearest));
  return with_conv_ ? conv_->forward(h) : h;
}

DownsampleImpl::DownsampleImpl(std::int64_t in, std::int64_t out, bool with_conv, bool fir, std::vector<std::int64_t> kernel)
    : with_conv_(with_conv), fir_(fir), kernel_(std::move(kernel)) {
  if (!with_conv) return;
  if (fir) {
    fir_conv_ = register_module("Conv2d_0", FirConv2d(in, out, false, true, kernel_));
  } else {
    conv_ = register_module("Conv_0", conv3x3(in, out, 1.0, /*stride=*/2, /*padding=*/0));
  }
}

torch::Tensor DownsampleImpl::forward(const torch::Tensor& x) {
  if (fir_) return with_conv_ ? fir_conv_->forward(x) : downsample_2d(x, kernel_);
  if (!with_conv_) return F::avg_pool2d(x, F::AvgPool2dFuncOptions(2).stride(2));
  return conv_->forward(F::pad(x, F::PadFuncOptions({0, 1, 0, 1})));
}

}  // namespace sgm::models
