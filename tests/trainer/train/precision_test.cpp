// The numerics policy: autocast really turns convolutions to bf16 inside its scope and nowhere
// else, nests, and restores the previous state; TF32 and determinism switches are set both ways;
// channels-last conversion; an unknown autocast value names its key.
#include "trainer/train/precision.h"

#include <cstdio>
#include <cstdlib>

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

#include "trainer/core/error.h"

namespace sgm::train {
namespace {

at::Tensor conv(const at::Tensor& x, const at::Tensor& w) { return at::conv2d(x, w, {}, 1, 1); }

TEST(Precision, AutocastScopeMakesConvolutionsBf16OnlyInside) {
  const at::Tensor x = at::randn({2, 3, 8, 8});
  const at::Tensor w = at::randn({4, 3, 3, 3});
  EXPECT_EQ(conv(x, w).scalar_type(), at::kFloat);
  {
    const AutocastScope outer(at::kCPU, true);
    EXPECT_EQ(conv(x, w).scalar_type(), at::kBFloat16);
    {
      const AutocastScope inner(at::kCPU, true);
      EXPECT_EQ(conv(x, w).scalar_type(), at::kBFloat16);
    }
    EXPECT_TRUE(at::autocast::is_autocast_enabled(at::kCPU));  // the outer scope still holds
    const at::Tensor reference = conv(x, w).to(at::kFloat);
    const double relative =
        ((reference - conv(x, w).to(at::kFloat)).abs().max() / reference.abs().max())
            .item<double>();
    EXPECT_EQ(relative, 0.0);
    const double vs_fp32 = ((reference -
                             [&] {
                               at::autocast::set_autocast_enabled(at::kCPU, false);
                               at::Tensor y = conv(x, w);
                               at::autocast::set_autocast_enabled(at::kCPU, true);
                               return y;
                             }())
                                .abs()
                                .max() /
                            reference.abs().max())
                               .item<double>();
    std::printf("[evidence] bf16 convolution vs fp32: max rel error %.3e (bf16 epsilon 7.8e-3)\n",
                vs_fp32);
    EXPECT_GT(vs_fp32, 0.0);
    EXPECT_LT(vs_fp32, 2e-2);
  }
  EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCPU));
  EXPECT_EQ(conv(x, w).scalar_type(), at::kFloat);
  {
    const AutocastScope off(at::kCPU, false);
    EXPECT_EQ(conv(x, w).scalar_type(), at::kFloat);
  }
}

TEST(Precision, Tf32PolicyIsSetBothWays) {
  apply_tf32_policy(true);
  EXPECT_TRUE(at::globalContext().allowTF32CuBLAS());
  EXPECT_TRUE(at::globalContext().allowTF32CuDNN());
  apply_tf32_policy(false);
  EXPECT_FALSE(at::globalContext().allowTF32CuBLAS());
  EXPECT_FALSE(at::globalContext().allowTF32CuDNN());
}

TEST(Precision, DeterminismIsSetBothWays) {
  unsetenv("CUBLAS_WORKSPACE_CONFIG");
  apply_determinism(true);
  EXPECT_TRUE(at::globalContext().deterministicCuDNN());
  EXPECT_FALSE(at::globalContext().benchmarkCuDNN());
  EXPECT_TRUE(at::globalContext().deterministicAlgorithms());
  EXPECT_FALSE(at::globalContext().deterministicAlgorithmsWarnOnly());
  ASSERT_NE(std::getenv("CUBLAS_WORKSPACE_CONFIG"), nullptr);
  EXPECT_STREQ(std::getenv("CUBLAS_WORKSPACE_CONFIG"), ":4096:8");
  // A workspace the user chose is kept.
  setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8", 1);
  apply_determinism(true);
  EXPECT_STREQ(std::getenv("CUBLAS_WORKSPACE_CONFIG"), ":16:8");
  apply_determinism(false);
  EXPECT_FALSE(at::globalContext().deterministicCuDNN());
  EXPECT_FALSE(at::globalContext().deterministicAlgorithms());
  unsetenv("CUBLAS_WORKSPACE_CONFIG");
}

TEST(Precision, ChannelsLastConvertsImagesOnly) {
  const at::Tensor x = at::randn({2, 3, 4, 5});
  const at::Tensor y = in_memory_format(x, true);
  EXPECT_TRUE(y.is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_FALSE(y.is_contiguous());
  EXPECT_TRUE(at::equal(x, y));
  EXPECT_TRUE(in_memory_format(x, false).is_same(x));
  const at::Tensor flat = at::randn({6, 2});
  EXPECT_TRUE(in_memory_format(flat, true).is_same(flat));
}

TEST(Precision, UnknownAutocastNamesTheKey) {
  PrecisionOptions o;
  o.autocast = "fp16";
  try {
    validate(o);
    FAIL() << "no error";
  } catch (const core::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("training.autocast = 'fp16'"), std::string::npos);
  }
}

}  // namespace
}  // namespace sgm::train
