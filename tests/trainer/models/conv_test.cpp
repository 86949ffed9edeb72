// models::Conv2d's prepacked inference path: on NHWC input it gives exactly the bits of
// LibTorch's own conv2d on the same input (packing saves time, not accuracy), within float32
// rounding of the NCHW result; a changed weight is packed again; with autograd on, or where
// packing is off, it is torch::nn::Conv2d. A whole NCSN++ network on the packed NHWC path stays
// within 1e-5 of its NCHW output (relative to the largest value), the tolerance the evaluation's
// eval.channels_last states.
#include "trainer/models/conv.h"

#include <cstdio>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "trainer/models/registry.h"
#include "trainer/sde/registry.h"

namespace sgm::models {
namespace {

double relative(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

at::Tensor nhwc(const at::Tensor& x) { return x.contiguous(at::MemoryFormat::ChannelsLast); }

TEST(Conv2d, PackedGivesLibTorchsBitsOnNhwcInput) {
  if (set_convolution_packing(*Conv2d(torch::nn::Conv2dOptions(1, 1, 1)), true) == 0)
    GTEST_SKIP() << "this LibTorch has no oneDNN convolution";
  struct Case {
    const char* what;
    torch::nn::Conv2dOptions options;
    std::int64_t size;
  };
  const Case cases[] = {
      {"3x3 padding 1", torch::nn::Conv2dOptions(32, 48, 3).padding(1), 16},
      {"1x1", torch::nn::Conv2dOptions(48, 32, 1), 8},
      {"3x3 stride 2, no padding", torch::nn::Conv2dOptions(16, 16, 3).stride(2), 17},
      {"3x3 dilation 2, no bias",
       torch::nn::Conv2dOptions(16, 24, 3).padding(2).dilation(2).bias(false), 12},
  };
  at::manual_seed(1);
  const at::NoGradGuard no_grad;
  for (const Case& c : cases) {
    Conv2d conv(c.options);
    const at::Tensor x = at::randn({4, c.options.in_channels(), c.size, c.size});
    const at::Tensor eager_nchw = conv->torch::nn::Conv2dImpl::forward(x);
    const at::Tensor eager_nhwc = conv->torch::nn::Conv2dImpl::forward(nhwc(x));
    set_convolution_packing(*conv, true);
    const at::Tensor packed = conv->forward(nhwc(x));
    const at::Tensor again = conv->forward(nhwc(x));  // the packed weight, reused
    EXPECT_TRUE(at::equal(packed, eager_nhwc)) << c.what;
    EXPECT_TRUE(at::equal(again, eager_nhwc)) << c.what;
    const double r = relative(packed, eager_nchw);
    std::printf(
        "[evidence] %s: packed NHWC == LibTorch NHWC bit for bit: %s; vs NCHW %.2e "
        "(tolerance 1e-5)\n",
        c.what, at::equal(packed, eager_nhwc) ? "yes" : "no", r);
    EXPECT_LE(r, 1e-5) << c.what;
  }
}

TEST(Conv2d, RepacksChangedWeightsAndLeavesAutogradToLibTorch) {
  Conv2d conv(torch::nn::Conv2dOptions(8, 8, 3).padding(1));
  if (set_convolution_packing(*conv, true) == 0)
    GTEST_SKIP() << "this LibTorch has no oneDNN convolution";
  const at::Tensor x = nhwc(at::randn({2, 8, 8, 8}));
  {
    const at::NoGradGuard no_grad;
    conv->forward(x);
    conv->weight.mul_(-2);  // new weights copied in after the first call
    const at::Tensor after = conv->forward(x);
    EXPECT_TRUE(at::equal(after, conv->torch::nn::Conv2dImpl::forward(x)))
        << "a stale packed weight was used";
    conv->weight.set_data(at::randn({8, 8, 3, 3}));  // other memory, same version
    EXPECT_TRUE(at::equal(conv->forward(x), conv->torch::nn::Conv2dImpl::forward(x)))
        << "a packed weight of replaced memory was used";
  }
  const at::Tensor y = conv->forward(x.detach().requires_grad_());
  ASSERT_TRUE(y.requires_grad()) << "with autograd on, LibTorch's differentiable path";
  y.sum().backward();
  EXPECT_TRUE(conv->weight.grad().defined());
}

TEST(Conv2d, NcsnppOnThePackedPathStaysWithinFloatRoundingOfNchw) {
  ModelOptions mo;  // an NCSN++ with FIR resampling, attention and every conv kind
  mo.nf = 16;
  mo.ch_mult = {1, 2, 2};
  mo.num_res_blocks = 1;
  mo.attn_resolutions = {8};
  mo.dropout = 0;
  DataShape shape;
  shape.image_size = 16;
  sde::SdeOptions so;
  at::manual_seed(3);
  auto model = make_model(mo, shape, so);
  model->eval();
  const at::NoGradGuard no_grad;
  const at::Tensor x = at::randn({3, 3, 16, 16}), sigma = at::full({3}, 0.7);
  const at::Tensor nchw = model->forward(x, sigma);
  const std::int64_t convs = set_convolution_packing(*model, true);
  if (convs == 0) GTEST_SKIP() << "this LibTorch has no oneDNN convolution";
  const at::Tensor packed = model->forward(nhwc(x), sigma).contiguous();
  const double r = relative(packed, nchw);
  std::printf(
      "[evidence] NCSN++ (%ld convolutions packed): NHWC packed vs NCHW %.2e (tolerance "
      "1e-5 of max |output| %.3g)\n",
      static_cast<long>(convs), r, nchw.abs().max().item<double>());
  EXPECT_GT(convs, 10);
  EXPECT_LE(r, 1e-5);
  EXPECT_FALSE(at::equal(packed, nchw)) << "the packed path did not run (same bits as NCHW)";
}

}  // namespace
}  // namespace sgm::models
