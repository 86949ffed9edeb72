// Objectives: the two DSM reductions differ by D/2; SMLD and DDPM losses against hand
// computation; sliced and denoising score matching on Gaussian data equal the explicit
// score-matching objective up to their known constants (within Monte-Carlo error, printed).
#include <cmath>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "trainer/core/rng.h"
#include "trainer/sde/losses.h"
#include "trainer/sde/registry.h"

namespace sgm::sde {
namespace {

using sgm::testing::tensors_close;

at::Tensor normal(std::int64_t n, std::int64_t d, core::RngStream stream, std::uint64_t seed = 5) {
  return core::CounterRng(seed).normal(at::arange(n, at::kLong), d, stream).to(at::kDouble);
}

TEST(Losses, ReductionsDifferByHalfTheDimension) {
  auto sde = make_sde({"vpsde"});
  at::Tensor x0 = normal(4, 12, core::RngStream::kTest).view({4, 3, 2, 2});
  at::Tensor z = normal(4, 12, core::RngStream::kNoise).view({4, 3, 2, 2});
  at::Tensor t = at::tensor({0.1, 0.4, 0.7, 0.99}, at::kDouble);
  ScoreFn score = [](const at::Tensor& x, const at::Tensor&) { return x.mul(-0.8).add(0.1); };
  for (bool lw : {false, true}) {
    at::Tensor mean = sde_loss(*sde, score, x0, t, z, true, lw);
    at::Tensor half_sum = sde_loss(*sde, score, x0, t, z, false, lw);
    EXPECT_TRUE(tensors_close("0.5 sum = (D/2) mean", half_sum, mean.mul(6.0), 1e-12));
  }
  // By hand: R[(s std + z)^2] with x_t = alpha x0 + std z.
  MeanStd m = sde->marginal_prob(x0, t);
  at::Tensor xt = m.mean + batch_view(m.std, x0) * z;
  at::Tensor expected = (score(xt, t) * batch_view(m.std, x0) + z).square().reshape({4, -1}).mean(1);
  EXPECT_TRUE(tensors_close("DSM by hand", sde_loss(*sde, score, x0, t, z, true, false), expected, 1e-12));
}

TEST(Losses, SmldAndDdpmAgainstHandComputation) {
  VESDE ve(0.01, 50.0, 1000);
  VPSDE vp(0.1, 20.0, 1000);
  at::Tensor x0 = normal(3, 4, core::RngStream::kTest).to(at::kFloat);
  at::Tensor z = normal(3, 4, core::RngStream::kNoise).to(at::kFloat);
  at::Tensor labels = at::tensor({0, 400, 999}, at::kLong);
  ModelFn net = [](const at::Tensor& x, const at::Tensor&) { return x.mul(-0.5); };
  at::Tensor sigma = ve.discrete_sigmas().flip({0}).index_select(0, labels).unsqueeze(1);  // descending
  at::Tensor xs = x0 + sigma * z;
  at::Tensor smld = (net(xs, labels) + z / sigma).square().sum(1).mul(0.5) * sigma.squeeze(1).square();
  EXPECT_TRUE(tensors_close("SMLD loss", smld_loss(ve, net, x0, labels, z, false), smld, 1e-4 * smld.abs().max().item<double>()));
  at::Tensor a = vp.sqrt_alphas_cumprod().index_select(0, labels).unsqueeze(1);
  at::Tensor b = vp.sqrt_1m_alphas_cumprod().index_select(0, labels).unsqueeze(1);
  at::Tensor ddpm = (net(a * x0 + b * z, labels) - z).square().mean(1);
  EXPECT_TRUE(tensors_close("DDPM loss", ddpm_loss(vp, net, x0, labels, z, true), ddpm, 1e-6));
}

// Data N(mu, s^2 I) in D dimensions; explicit SM J = 1/2 E|s(x) - grad log p(x)|^2.
struct Gaussian {
  double mu = 0.3;
  double s = 0.5;
  std::int64_t D = 6;
};

struct Estimate {
  double mean;
  double standard_error;
};

Estimate mc(const at::Tensor& per_sample) {
  return {per_sample.mean().item<double>(), per_sample.std().item<double>() / std::sqrt(static_cast<double>(per_sample.numel()))};
}

void expect_within_mc(const std::string& what, Estimate a, Estimate b, double constant) {
  const double diff = a.mean - (b.mean + constant);
  const double se = std::sqrt(a.standard_error * a.standard_error + b.standard_error * b.standard_error);
  std::printf("[evidence] %s: estimator %.6f vs explicit SM %.6f + constant %.6f; diff %.2e, 4 standard errors %.2e\n",
              what.c_str(), a.mean, b.mean, constant, diff, 4 * se);
  EXPECT_LE(std::abs(diff), 4 * se) << what;
}

TEST(Losses, SlicedScoreMatchingEqualsExplicitMinusConstant) {
  Gaussian g;
  const std::int64_t n = 100000;
  at::Tensor x = normal(n, g.D, core::RngStream::kTest).mul(g.s).add(g.mu);
  at::Tensor x_explicit = normal(n, g.D, core::RngStream::kTest, 17).mul(g.s).add(g.mu);
  at::Tensor u = core::CounterRng(5).uniform(at::arange(n, at::kLong), g.D, core::RngStream::kProbe).to(at::kDouble);
  at::Tensor rademacher = u.lt(0.5).to(at::kDouble).mul(2).sub(1);
  at::Tensor gaussian = normal(n, g.D, core::RngStream::kProbe);
  // Two score functions: affine, and a nonlinear one whose Jacobian varies with x.
  std::vector<std::pair<std::string, std::function<at::Tensor(const at::Tensor&)>>> scores = {
      {"affine s(x) = -1.5 (x - 0.1)", [](const at::Tensor& y) { return y.sub(0.1).mul(-1.5); }},
      {"nonlinear s(x) = -3 tanh(x - 0.2)", [](const at::Tensor& y) { return y.sub(0.2).tanh().mul(-3); }},
  };
  const double constant = -static_cast<double>(g.D) / (2 * g.s * g.s);
  for (const auto& [name, s] : scores) {
    at::Tensor truth = x_explicit.sub(g.mu).neg().div(g.s * g.s);
    Estimate explicit_sm = mc((s(x_explicit) - truth).square().sum(1).mul(0.5));
    expect_within_mc("SSM Rademacher, " + name, mc(sliced_score_matching(s, x, rademacher).detach()), explicit_sm, constant);
    expect_within_mc("SSM Gaussian, " + name, mc(sliced_score_matching(s, x, gaussian).detach()), explicit_sm, constant);
    expect_within_mc("SSM-VR, " + name, mc(sliced_score_matching(s, x, gaussian, true).detach()), explicit_sm, constant);
  }
}

TEST(Losses, DenoisingScoreMatchingEqualsExplicitOnNoisedDataPlusConstant) {
  // DSM at noise sigma = explicit SM against p_sigma = N(mu, (s^2 + sigma^2) I)
  //                      + D/(2 sigma^2) - D/(2 (s^2 + sigma^2)).
  Gaussian g;
  const double sigma = 0.4;
  const std::int64_t n = 200000;
  at::Tensor x = normal(n, g.D, core::RngStream::kTest).mul(g.s).add(g.mu);
  at::Tensor z = normal(n, g.D, core::RngStream::kNoise);
  const double v = g.s * g.s + sigma * sigma;
  at::Tensor y = normal(n, g.D, core::RngStream::kTest, 23).mul(std::sqrt(v)).add(g.mu);
  std::vector<std::pair<std::string, std::function<at::Tensor(const at::Tensor&)>>> scores = {
      {"affine", [](const at::Tensor& w) { return w.sub(0.1).mul(-1.5); }},
      {"nonlinear", [](const at::Tensor& w) { return w.sub(0.2).tanh().mul(-3); }},
  };
  const double constant = static_cast<double>(g.D) / (2 * sigma * sigma) - static_cast<double>(g.D) / (2 * v);
  for (const auto& [name, s] : scores) {
    Estimate explicit_sm = mc((s(y) + y.sub(g.mu).div(v)).square().sum(1).mul(0.5));
    expect_within_mc("DSM, " + name, mc(denoising_score_matching(s, x, z, sigma)), explicit_sm, constant);
  }
}

}  // namespace
}  // namespace sgm::sde
