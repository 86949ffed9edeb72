// The snapshot grid layout, and the reverse-SDE sampler on the analytic Gaussian score (its
// samples must have the data's mean and standard deviation).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "trainer/sde/registry.h"
#include "trainer/train/snapshot_sampler.h"

namespace sgm::train {
namespace {

TEST(SnapshotSampler, GridPlacesImageRowMajorWithChannelsLast) {
  // 3 images of 1 channel, 2x2: image k is filled with k / 4; 2 columns -> 2 rows (one empty).
  at::Tensor images = at::stack({at::full({1, 2, 2}, 0.0), at::full({1, 2, 2}, 0.25),
                                 at::full({1, 2, 2}, 0.5)});
  images[1][0][0][1] = 1.0;  // image 1, row 0, column 1
  const at::Tensor grid = image_grid(images, /*centered=*/false, 2);
  ASSERT_EQ(grid.sizes(), at::IntArrayRef({4, 4, 1}));
  EXPECT_EQ(grid[0][0][0].item<int>(), 0);
  EXPECT_EQ(grid[0][2][0].item<int>(), 64);   // image 1 starts at column 2: round(0.25 * 255)
  EXPECT_EQ(grid[0][3][0].item<int>(), 255);  // its row 0, column 1
  EXPECT_EQ(grid[1][3][0].item<int>(), 64);
  EXPECT_EQ(grid[2][0][0].item<int>(), 128);  // image 2: second grid row
  EXPECT_EQ(grid[3][3][0].item<int>(), 0);    // the empty fourth slot
  // Centered data maps [-1, 1] to [0, 255].
  EXPECT_EQ(image_grid(at::full({1, 1, 1, 1}, 1.0), true, 1)[0][0][0].item<int>(), 255);
  EXPECT_EQ(image_grid(at::full({1, 1, 1, 1}, -1.0), true, 1)[0][0][0].item<int>(), 0);
}

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
  std::printf("[evidence] 4096 x 4 samples: mean %.4f (data %.2f), std %.4f (data %.2f), "
              "tolerance 0.02\n",
              mean, m, std, s);
  EXPECT_NEAR(mean, m, 0.02);
  EXPECT_NEAR(std, s, 0.02);
}

}  // namespace
}  // namespace sgm::train
