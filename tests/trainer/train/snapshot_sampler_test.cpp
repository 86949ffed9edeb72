// The reverse-SDE sampler on the analytic Gaussian score (its
// samples must have the data's mean and standard deviation).
#include "trainer/train/snapshot_sampler.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "trainer/sde/registry.h"

namespace sgm::train {
namespace {

TEST(SnapshotSampler, ReverseSdeSamplesAGaussianWithItsMoments) {
  // Data N(m, s^2) per dimension; under the VE SDE the marginal is N(m, s^2 + sigma(t)^2), whose
  // score is exact: -(x - m) / (s^2 + sigma(t)^2).
  sde::SdeOptions o;
  o.name = "vesde";
  o.sigma_min = 0.01;
  o.sigma_max = 10;
  auto ve = sde::make_sde(o);
  const double m = 0.3, s = 0.2;
  const sde::ScoreFn score = [&](const at::Tensor& x, const at::Tensor& t) {
    const at::Tensor sigma = ve->marginal_prob(x, t).std.view({-1, 1, 1, 1});
    return -(x - m) / (sigma * sigma + s * s);
  };
  const at::Tensor x = sample_reverse_sde(ve, score, 4096, {1, 2, 2}, 500, 7, at::kCPU);
  const double mean = x.mean().item<double>(), std = x.std().item<double>();
  std::printf(
      "[evidence] 4096 x 4 samples: mean %.4f (data %.2f), std %.4f (data %.2f), "
      "tolerance 0.02\n",
      mean, m, std, s);
  EXPECT_NEAR(mean, m, 0.02);
  EXPECT_NEAR(std, s, 0.02);
}

}  // namespace
}  // namespace sgm::train
