// Implicit and sliced score matching against the explicit objective on a known score: data from
// the analytic Gaussian mixture (model `gaussian`, whose score of p_t is exact), a model score
// that is the true one perturbed (so the Fisher divergence is not 0). Integration by parts gives
//   E[tr(ds/dx) + 1/2 |s|^2] = 1/2 E|s - grad log p|^2 - 1/2 E|grad log p|^2,
// and sliced score matching estimates the left side with random projections. Each estimate is
// compared with the explicit right side through the per-sample differences (paired, so the
// tolerance is 4 standard errors of the difference), and the figures are printed.
#include <cmath>
#include <cstdio>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "trainer/core/rng.h"
#include "trainer/models/analytic.h"
#include "trainer/sde/losses.h"

namespace sgm::models {
namespace {

struct Estimate {
  double mean;
  double standard_error;
};

Estimate mc(const at::Tensor& per_sample) {
  return {per_sample.mean().item<double>(),
          per_sample.std().item<double>() / std::sqrt(static_cast<double>(per_sample.numel()))};
}

TEST(ScoreMatching, ImplicitAndSlicedEqualTheExplicitObjectiveOnTheAnalyticMixture) {
  core::SdeOptions ve;
  ve.name = "vesde";
  ve.sigma_min = 0.01;
  ve.sigma_max = 5.0;
  const std::vector<double> means = {-1.0, 1.5}, stds = {0.3, 0.5}, weights = {0.4, 0.6};
  const GaussianMixtureScore mixture(
      GaussianMixtureOptions().mean(means).std(stds).weight(weights).sde(ve));
  const std::int64_t n = 60000, dims = 3;
  const double t0 = 0.3;
  const at::Tensor t = at::full({n}, t0, at::kDouble);
  // x ~ p_t: a component by its weight, then its Gaussian (mean mu_k in every dimension,
  // variance s_k^2 plus the VE variance added by time t).
  const core::CounterRng rng(41);
  const at::Tensor positions = at::arange(n, at::kLong);
  const at::Tensor pick =
      rng.uniform(positions, 1, core::RngStream::kTest).to(at::kDouble).lt(weights[0]);
  const at::Tensor z = rng.normal(positions, dims, core::RngStream::kNoise).to(at::kDouble);
  const at::Tensor added = mixture.added_variance(t.narrow(0, 0, 1));
  const at::Tensor mu = at::where(pick, at::full({n, 1}, means[0], at::kDouble),
                                  at::full({n, 1}, means[1], at::kDouble));
  const at::Tensor sd = at::where(pick, at::full({n, 1}, stds[0] * stds[0], at::kDouble),
                                  at::full({n, 1}, stds[1] * stds[1], at::kDouble))
                            .add(added)
                            .sqrt();
  const at::Tensor x = mu.add(sd.mul(z));

  // The model: the true score scaled, bent and shifted.
  const auto truth = [&](const at::Tensor& y) { return mixture.score(y, t); };
  const auto model = [&](const at::Tensor& y) {
    return truth(y).mul(0.8).add(y.tanh().mul(0.3)).sub(0.2);
  };

  at::Tensor s_true = truth(x).detach();
  at::Tensor s = model(x).detach();
  const at::Tensor explicit_objective =
      s.sub(s_true).square().sum(1).mul(0.5).sub(s_true.square().sum(1).mul(0.5));
  const Estimate fisher = mc(s.sub(s_true).square().sum(1).mul(0.5));
  const Estimate expl = mc(explicit_objective);
  std::printf(
      "[evidence] p_t: 2-component mixture in %lld dimensions at VE t = %.1f; Fisher divergence "
      "1/2 E|s - grad log p|^2 = %.4f +- %.4f (not 0); explicit objective %.4f +- %.4f\n",
      static_cast<long long>(dims), t0, fisher.mean, fisher.standard_error, expl.mean,
      expl.standard_error);
  EXPECT_GT(fisher.mean, 10 * fisher.standard_error);

  const at::Tensor gaussian =
      rng.normal(positions, 16 * dims, core::RngStream::kProbe).to(at::kDouble);
  const at::Tensor rademacher = rng.uniform(positions, 16 * dims, core::RngStream::kProjection)
                                    .lt(0.5)
                                    .to(at::kDouble)
                                    .mul(2)
                                    .sub(1);
  std::vector<at::Tensor> gaussian_probes, rademacher_probes;
  for (std::int64_t k = 0; k < 16; ++k) {
    gaussian_probes.push_back(gaussian.narrow(1, k * dims, dims));
    rademacher_probes.push_back(rademacher.narrow(1, k * dims, dims));
  }
  const std::vector<std::pair<std::string, at::Tensor>> estimators = {
      {"ISM (exact trace)", sde::implicit_score_matching(model, x).detach()},
      {"SSM, 16 Gaussian projections",
       sde::sliced_score_matching(model, x, gaussian_probes, false).detach()},
      {"SSM, 16 Rademacher projections",
       sde::sliced_score_matching(model, x, rademacher_probes, false).detach()},
      {"SSM-VR, 16 Gaussian projections",
       sde::sliced_score_matching(model, x, gaussian_probes, true).detach()},
  };
  for (const auto& [name, per_sample] : estimators) {
    const Estimate e = mc(per_sample);
    const Estimate diff = mc(per_sample.sub(explicit_objective));
    std::printf(
        "[evidence] %s: %.4f +- %.4f vs explicit %.4f; paired difference %.5f, 4 standard "
        "errors %.5f\n",
        name.c_str(), e.mean, e.standard_error, expl.mean, diff.mean, 4 * diff.standard_error);
    EXPECT_LE(std::abs(diff.mean), 4 * diff.standard_error) << name;
  }
}

TEST(ScoreMatching, ImplicitTraceIsExactForAnAffineScore) {
  // s(x) = A x + b with A = diag(-1, -2, -3) per dimension: tr(ds/dx) = -6 at every x.
  const at::Tensor x = core::CounterRng(3)
                           .normal(at::arange(5, at::kLong), 3, core::RngStream::kTest)
                           .to(at::kDouble);
  const at::Tensor a = at::tensor({-1.0, -2.0, -3.0}, at::kDouble);
  const auto s = [&](const at::Tensor& y) { return y.mul(a).add(0.5); };
  const at::Tensor expected = s(x).square().sum(1).mul(0.5).sub(6.0);
  const at::Tensor got = sde::implicit_score_matching(s, x).detach();
  std::printf("[evidence] affine score: max |ISM - (-6 + |s|^2/2)| = %.2e\n",
              got.sub(expected).abs().max().item<double>());
  EXPECT_LT(got.sub(expected).abs().max().item<double>(), 1e-12);
}

}  // namespace
}  // namespace sgm::models
