// NCSNv2 techniques against the values computed for score_sde's shipped NCSNv2 configs
// (arXiv 2006.09011), and the dataset diameter against brute force.
#include "data/noise_schedule.h"

#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/compare.h"

namespace sgm::data {
namespace {

using sgm::testing::near_with_evidence;

TEST(NoiseSchedule, Technique2MatchesTheShippedConfigs) {
  // (D, gamma of the config, expression there, gamma for exactly 0.5)
  struct Row {
    std::int64_t dim;
    double gamma, expression, gamma_half;
  };
  for (const Row& r :
       {Row{3072, 1.037559, 0.5670, 1.039796}, Row{12288, 1.018414, 0.5669, 1.019510},
        Row{49152, 1.009122, 0.5665, 1.009661}}) {
    EXPECT_TRUE(near_with_evidence(fmt::format("Phi expression, D={}", r.dim),
                                   technique2_expression(r.gamma, r.dim), r.expression, 5e-4));
    EXPECT_TRUE(near_with_evidence(fmt::format("gamma for 0.5, D={}", r.dim),
                                   technique2_gamma(r.dim), r.gamma_half, 5e-6));
  }
}

TEST(NoiseSchedule, Technique4MatchesTheShippedConfigs) {
  // eps = 2 snr^2 sigma_L^2 (score_sde's ald), sigma_L = 0.01: (gamma, T, snr, technique-4 value)
  struct Row {
    double gamma;
    std::int64_t steps;
    double snr, value;
  };
  for (const Row& r : {Row{1.037559, 5, 0.176, 1.055}, Row{1.018414, 5, 0.128, 1.031},
                       Row{1.009122, 3, 0.095, 1.017}}) {
    const double eps = 2 * r.snr * r.snr * 1e-4;
    EXPECT_TRUE(near_with_evidence(fmt::format("s_T^2/sigma^2, gamma={}", r.gamma),
                                   technique4_ratio(eps, r.gamma, r.steps, 0.01), r.value, 1.5e-3));
    const double best = technique4_eps(r.gamma, r.steps, 0.01);
    const double at_best = technique4_ratio(best, r.gamma, r.steps, 0.01);
    std::printf(
        "[evidence] gamma %.6f, T %lld: recommended eps %.3e gives %.6f (shipped eps %.3e gives "
        "%.6f)\n",
        r.gamma, static_cast<long long>(r.steps), best, at_best, eps, r.value);
    EXPECT_LE(at_best, technique4_ratio(eps, r.gamma, r.steps, 0.01));
    EXPECT_GT(at_best, 1.0);  // the ratio never reaches 1
    for (double f : {0.9, 1.1})
      EXPECT_LE(at_best, technique4_ratio(best * f, r.gamma, r.steps, 0.01)) << "a minimum";
  }
}

TEST(NoiseSchedule, DiameterExactAndBounded) {
  at::manual_seed(2);
  at::Tensor points = at::rand({300, 12});
  double brute = 0;
  for (std::int64_t i = 0; i < 300; ++i)
    brute = std::max(brute, (points - points[i]).norm(2, 1).max().item<double>());
  Diameter exact = max_pairwise_distance(points);
  EXPECT_TRUE(exact.exact);
  EXPECT_TRUE(near_with_evidence("exact diameter", exact.lower, brute, 1e-6));
  Diameter bounded = max_pairwise_distance(points, /*exact_limit=*/10);
  EXPECT_FALSE(bounded.exact);
  std::printf("[evidence] bounded diameter [%.6f, %.6f] around %.6f\n", bounded.lower,
              bounded.upper, brute);
  EXPECT_LE(bounded.lower, brute + 1e-9);
  EXPECT_GE(bounded.upper, brute - 1e-9);
  EXPECT_GT(bounded.lower, 0.8 * brute);
}

}  // namespace
}  // namespace sgm::data
