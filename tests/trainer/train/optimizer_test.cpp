// The optimizer step of score_sde: warm-up with its first-step-at-lr-0 quirk,
// clip_grad_norm_'s factor, and Adam over flat buffers against torch.optim.Adam's single-tensor
// algorithm written out per parameter (and over a whole buffer, bit for bit).
#include "trainer/train/optimizer.h"

#include <cmath>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "trainer/core/flat_chunks.h"

namespace sgm::train {
namespace {

TEST(Optimizer, WarmupStartsAtZeroAndRampsLinearly) {
  AdamOptions o;  // lr 2e-4, warmup 5000
  EXPECT_EQ(learning_rate(o, 0), 0.0);
  EXPECT_DOUBLE_EQ(learning_rate(o, 2500), 1e-4);
  EXPECT_DOUBLE_EQ(learning_rate(o, 5000), 2e-4);
  EXPECT_DOUBLE_EQ(learning_rate(o, 123456), 2e-4);
  o.warmup = 0;
  EXPECT_DOUBLE_EQ(learning_rate(o, 0), 2e-4);
}

TEST(Optimizer, ClipFactorIsClipGradNormsFactor) {
  EXPECT_DOUBLE_EQ(clip_factor(2.0, 1.0), 1.0 / (2.0 + 1e-6));
  EXPECT_EQ(clip_factor(0.5, 1.0), 1.0);
  EXPECT_EQ(clip_factor(1e9, -1.0), 1.0);  // clipping off
}

// torch.optim.Adam, _single_tensor_adam (PyTorch 2.x), on one parameter.
struct ReferenceAdam {
  at::Tensor exp_avg, exp_avg_sq;
  std::int64_t step = 0;
  void update(at::Tensor& param, at::Tensor grad, const AdamOptions& o, double lr) {
    if (!exp_avg.defined()) {
      exp_avg = at::zeros_like(param);
      exp_avg_sq = at::zeros_like(param);
    }
    ++step;
    if (o.weight_decay != 0) grad = grad.add(param, o.weight_decay);
    exp_avg.lerp_(grad, 1 - o.beta1);
    exp_avg_sq.mul_(o.beta2).addcmul_(grad, grad.conj(), 1 - o.beta2);
    const double bias_correction1 = 1 - std::pow(o.beta1, static_cast<double>(step));
    const double bias_correction2 = 1 - std::pow(o.beta2, static_cast<double>(step));
    const double step_size = lr / bias_correction1;
    const double bias_correction2_sqrt = std::sqrt(bias_correction2);
    const at::Tensor denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(o.eps);
    param.addcdiv_(exp_avg, denom, -step_size);
  }
};

TEST(Optimizer, FlatAdamEqualsPerParameterAdamWithClipping) {
  AdamOptions o;
  o.lr = 1e-2;
  o.warmup = 3;
  o.grad_clip = 1.0;
  o.weight_decay = 0.01;
  at::manual_seed(1);
  // Three "parameters" of odd sizes laid out in one flat buffer, as the reducer does.
  const std::vector<std::int64_t> sizes = {37, 1000, 5};
  at::Tensor flat = at::randn({1042});
  at::Tensor flat_grad = at::zeros({1042});
  std::vector<at::Tensor> reference;
  std::vector<ReferenceAdam> reference_state(sizes.size());
  std::int64_t offset = 0;
  for (std::int64_t n : sizes) {
    reference.push_back(flat.narrow(0, offset, n).clone());
    offset += n;
  }
  FlatAdam adam({flat}, {flat_grad}, o);
  for (std::int64_t step = 0; step < 20; ++step) {
    const at::Tensor g = at::randn({1042}) * (step % 2 ? 3.0 : 0.1);  // clipped every other step
    flat_grad.copy_(g);
    const double norm = adam.grad_norm();
    EXPECT_NEAR(norm, g.to(at::kDouble).norm().item<double>(), 1e-5 * norm);
    const double clip = clip_factor(norm, o.grad_clip);
    const double lr = learning_rate(o, step);
    adam.step(lr, clip);
    offset = 0;
    for (std::size_t k = 0; k < sizes.size(); ++k) {
      at::Tensor grad = g.narrow(0, offset, sizes[k]) * clip;
      reference_state[k].update(reference[k], grad, o, lr);
      offset += sizes[k];
    }
  }
  EXPECT_TRUE(sgm::testing::tensors_close("flat Adam vs per-parameter Adam after 20 steps", flat,
                                          at::cat(reference), 1e-7));
  EXPECT_EQ(adam.steps(), 20);
}

TEST(Optimizer, SlicedStepIsBitIdenticalToTheWholeBufferStep) {
  // FlatAdam works on slices of core::kFlatChunk elements with scratch; torch.optim.Adam's
  // out-of-place expression over the whole buffer must give the same bits.
  AdamOptions o;
  o.lr = 1e-3;
  o.weight_decay = 0.01;
  at::manual_seed(2);
  const std::int64_t n = 2 * core::kFlatChunk + 37;
  at::Tensor flat = at::randn({n}), flat_grad = at::zeros({n});
  at::Tensor whole = flat.clone();
  ReferenceAdam reference;
  FlatAdam adam({flat}, {flat_grad}, o);
  for (int step = 0; step < 5; ++step) {
    const at::Tensor g = at::randn({n});
    flat_grad.copy_(g);
    adam.step(o.lr, 0.5);
    reference.update(whole, g * 0.5, o, o.lr);
  }
  EXPECT_TRUE(
      sgm::testing::tensors_equal("sliced Adam vs whole-buffer Adam, 5 steps", flat, whole));
  EXPECT_TRUE(
      sgm::testing::tensors_equal("second moments", adam.exp_avg_sq()[0], reference.exp_avg_sq));
}

TEST(Optimizer, NonFiniteGradientsGiveANonFiniteNorm) {
  at::Tensor p = at::zeros({4}), g = at::ones({4});
  g[2] = std::nan("");
  FlatAdam adam({p}, {g}, AdamOptions{});
  EXPECT_FALSE(std::isfinite(adam.grad_norm()));
}

}  // namespace
}  // namespace sgm::train
