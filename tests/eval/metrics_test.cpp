// Closed forms of the metrics: FID of identity covariances, of commuting diagonal ones, and of
// singular (N < d) ones, from statistics or from the features; IS of uniform and of one-hot
// predictions; KID of one distribution against itself; packing of the feature sums for an
// all-reduce.
#include "eval/metrics.h"

#include <cmath>
#include <cstdio>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace sgm::eval {
namespace {

TEST(Metrics, FidOfIdentityCovariancesIsTheMeanDistance) {
  const std::int64_t d = 2048;
  const at::Tensor eye = at::eye(d, at::kDouble);
  const double fid =
      frechet_distance(at::zeros({d}, at::kDouble), eye, at::ones({d}, at::kDouble), eye);
  std::printf("[evidence] FID(N(0,I), N(1,I)) in 2048-d: %.12f (exact 2048)\n", fid);
  EXPECT_NEAR(fid, 2048.0, 1e-8);
}

TEST(Metrics, FidOfDiagonalCovariances) {
  const at::Tensor a = at::rand({64}, at::kDouble) + 0.1, b = at::rand({64}, at::kDouble) + 0.1;
  const at::Tensor mu1 = at::randn({64}, at::kDouble), mu2 = at::randn({64}, at::kDouble);
  const double exact =
      ((mu1 - mu2).square().sum() + (a.sqrt() - b.sqrt()).square().sum()).item<double>();
  const double fid = frechet_distance(mu1, at::diag(a), mu2, at::diag(b));
  std::printf("[evidence] diagonal covariances: FID %.15f, closed form %.15f\n", fid, exact);
  EXPECT_NEAR(fid, exact, 1e-10 * exact);
}

TEST(Metrics, FidOfASetWithItselfIsZeroEvenWhenSingular) {
  const at::Tensor f = at::randn({50, 128}, at::kDouble);  // 50 rows: rank-deficient covariance
  FeatureStatistics s(128);
  s.add(f);
  const double fid = frechet_distance(s.mean(), s.covariance(), s.mean(), s.covariance());
  // Zero eigenvalues come back as ~1e-15 whose square roots are ~3e-8: error relative to the
  // traces, not absolute.
  const double scale = 2 * s.covariance().trace().item<double>();
  std::printf("[evidence] FID of a rank-49 set with itself: %.3e (%.1e of tr S1 + tr S2)\n", fid,
              std::abs(fid) / scale);
  EXPECT_LT(std::abs(fid), 1e-6 * scale);
}

TEST(Metrics, FidOfFeaturesEqualsFidOfTheirStatistics) {
  // Fewer rows than dimensions (the n x n route) and more (the statistics' route), against a
  // reference of full rank.
  at::manual_seed(5);
  const at::Tensor r = at::randn({400, 96}, at::kDouble).matmul(at::randn({96, 96}, at::kDouble));
  FeatureStatistics ref(96);
  ref.add(r);
  for (const std::int64_t n : {2, 12, 96, 300}) {
    const at::Tensor f = at::randn({n, 96}, at::kFloat) * 2 + 0.5;
    FeatureStatistics s(96);
    s.add(f);
    const double via_stats =
        frechet_distance(s.mean(), s.covariance(), ref.mean(), ref.covariance());
    const double via_features = frechet_distance_of_features(f, ref.mean(), ref.covariance());
    std::printf("[evidence] %3lld rows in 96-d: FID %.12f from the features, %.12f from the "
                "statistics (relative %.1e)\n",
                static_cast<long long>(n), via_features, via_stats,
                std::abs(via_features - via_stats) / via_stats);
    // Below full rank the statistics' route takes square roots of the zero eigenvalues' rounding
    // noise (about 1e-15 of the spectrum each): a few 1e-9 relative; at full rank it is the
    // same arithmetic.
    EXPECT_NEAR(via_features, via_stats, (n > 96 ? 0 : 1e-7) * via_stats) << n << " rows";
    if (n == 2) {  // S1 = w w^T with w = (f0 - f1) / sqrt(2): tr (S1 S2)^{1/2} = sqrt(w^T S2 w)
      const at::Tensor fd = f.to(at::kDouble), w = (fd[0] - fd[1]) / std::sqrt(2.0);
      const at::Tensor mu1 = fd.mean(0), mu2 = ref.mean(), s2 = ref.covariance();
      const double exact = ((mu1 - mu2).square().sum() + w.square().sum() + s2.trace() -
                            2 * w.dot(s2.mv(w)).sqrt())
                               .item<double>();
      std::printf("[evidence]   2 rows, closed form %.12f (relative to the features' route %.1e)\n",
                  exact, std::abs(via_features - exact) / exact);
      EXPECT_NEAR(via_features, exact, 1e-12 * exact);
    }
  }
  const at::Tensor f = at::randn({40, 2048}, at::kDouble);
  FeatureStatistics s(2048);
  s.add(f);
  const double self = frechet_distance_of_features(f, s.mean(), s.covariance());
  const double scale = 2 * s.covariance().trace().item<double>();
  std::printf("[evidence] 40 rows in 2048-d against their own statistics: FID %.3e (%.1e of the "
              "traces)\n", self, std::abs(self) / scale);
  EXPECT_LT(std::abs(self), 1e-6 * scale);
  EXPECT_THROW(frechet_distance_of_features(f, s.mean().narrow(0, 0, 10), s.covariance()),
               std::exception);
}

TEST(Metrics, InceptionScoreOfUniformAndOneHotPredictions) {
  EXPECT_NEAR(inception_score(at::zeros({100, 1008}, at::kDouble), 10).mean, 1.0, 1e-12);
  // One-hot predictions spread evenly over K = 10 classes: IS = K.
  at::Tensor logits = at::full({200, 1008}, -1e4, at::kDouble);
  for (std::int64_t i = 0; i < 200; ++i) logits[i][i % 10] = 0;
  const MeanStd is = inception_score(logits, 10);
  std::printf("[evidence] IS of one-hot predictions over 10 classes: %.12f (exact 10)\n", is.mean);
  EXPECT_NEAR(is.mean, 10.0, 1e-9);
  EXPECT_NEAR(is.std, 0.0, 1e-9);
}

TEST(Metrics, KidOfOneDistributionIsNearZero) {
  at::manual_seed(3);
  const at::Tensor a = at::randn({2000, 32}, at::kDouble), b = at::randn({2000, 32}, at::kDouble);
  const at::Tensor c = at::randn({2000, 32}, at::kDouble) + 0.5;
  const at::Tensor ix = kid_subset_indices(2000, 20, 500, 1),
                   iy = kid_subset_indices(2000, 20, 500, 2);
  const MeanStd same = kernel_inception_distance(a, b, ix, iy);
  const MeanStd shifted = kernel_inception_distance(a, c, ix, iy);
  std::printf("[evidence] KID same distribution %.3e +- %.3e; shifted by 0.5: %.3e\n", same.mean,
              same.std, shifted.mean);
  EXPECT_LT(std::abs(same.mean), 3 * same.std + 1e-3);
  EXPECT_GT(shifted.mean, 10 * std::abs(same.mean));
  EXPECT_TRUE(at::equal(ix, kid_subset_indices(2000, 20, 500, 1)));  // seeded: reproducible
}

TEST(Metrics, FeatureSumsPackAndMergeLikeAnAllReduce) {
  const at::Tensor f = at::randn({30, 8}, at::kDouble);
  FeatureStatistics whole(8), left(8), right(8);
  whole.add(f);
  left.add(f.narrow(0, 0, 11));
  right.add(f.narrow(0, 11, 19));
  FeatureStatistics merged(8);
  merged.unpack(left.packed() + right.packed());  // what a sum all-reduce does
  EXPECT_EQ(merged.count(), 30);
  EXPECT_TRUE(at::allclose(merged.covariance(), whole.covariance(), 1e-13, 1e-13));
}

}  // namespace
}  // namespace sgm::eval
