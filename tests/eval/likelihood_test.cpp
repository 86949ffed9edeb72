// Likelihood on the analytic `gaussian` model: bits/dim through the ODE within
// 0.01 of the closed form for VE, VP and sub-VP; four D = 4 cases against scipy in
// float64 (delta log p and nfev); exact and Hutchinson divergences agree where the Jacobian is c I.
#include "eval/likelihood.h"

#include <cmath>
#include <cstdio>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tests/eval/analytic_setup.h"
#include "trainer/models/analytic.h"
#include "trainer/sde/registry.h"
#include "trainer/sde/score_fn.h"

namespace sgm::eval {
namespace {

Analytic gaussian(const std::string& sde_name, double mu, double s) {
  return analytic(sde_name, {mu}, {s}, {1});
}

// Closed form: z = m_T + sqrt(v_T / v_eps)(x - m_eps), delta = D/2 log(v_T/v_eps).
struct ClosedForm {
  at::Tensor bpd, delta;
};
ClosedForm closed_form(const Analytic& a, const at::Tensor& x, double mu, double s, double eps,
                       double offset) {
  const std::int64_t B = x.size(0), D = x[0].numel();
  auto at_time = [&](double t) {
    const at::Tensor tt = at::full({1}, t, at::kDouble);
    const double c = a.model->mean_coeff(tt).item<double>();
    return std::pair<double, double>{c * mu,
                                     c * c * s * s + a.model->added_variance(tt).item<double>()};
  };
  const auto [m_eps, v_eps] = at_time(eps);
  const auto [m_T, v_T] = at_time(1.0);
  const at::Tensor z = m_T + std::sqrt(v_T / v_eps) * (x.to(at::kDouble) - m_eps);
  const double delta = 0.5 * static_cast<double>(D) * std::log(v_T / v_eps);
  const at::Tensor logp = a.sde->prior_logp(z).to(at::kDouble) + delta;
  return {-logp / (static_cast<double>(D) * std::log(2.0)) + offset,
          at::full({B}, delta, at::kDouble)};
}

TEST(Likelihood, BitsPerDimMatchTheClosedForm) {
  const double mu = 0.3, s = 0.5;
  at::manual_seed(0);
  const at::Tensor x = mu + s * at::randn({16, 3, 8, 8});
  for (const char* name : {"vesde", "vpsde", "subvpsde"}) {
    const Analytic a = gaussian(name, mu, s);
    const LikelihoodOptions o;
    const Likelihood ode = likelihood(a.sde, a.score, x, at::arange(16, at::kLong), 0, 1, o, 7.0);
    const ClosedForm exact = closed_form(a, x, mu, s, o.eps, 7.0);
    const double err = (ode.bpd - exact.bpd).abs().max().item<double>();
    std::printf(
        "[evidence] %-8s bpd (ODE) %.5f vs closed form %.5f: max |diff| over 16 samples "
        "%.2e (tolerance 0.01), nfe %ld\n",
        name, ode.bpd.mean().item<double>(), exact.bpd.mean().item<double>(), err, ode.nfe[0]);
    EXPECT_LT(err, 0.01) << name;
  }
}

TEST(Likelihood, ScienceTableCasesInFourDimensions) {
  // x = (0.1, 0.5, -0.2, 0.9), mu = 0.3, s = 0.5 (scipy in float64).
  struct Row {
    const char* sde;
    double delta;
    std::int64_t nfev;
  };
  const at::Tensor x = at::tensor({0.1, 0.5, -0.2, 0.9}, at::kFloat).view({1, 1, 2, 2});
  for (const Row& r :
       {Row{"vpsde", 2.772501, 44}, Row{"vesde", 18.420881, 116}, Row{"subvpsde", 2.772466, 56}}) {
    const Analytic a = gaussian(r.sde, 0.3, 0.5);
    LikelihoodOptions o;
    o.divergence = "exact";
    const Likelihood l = likelihood(a.sde, a.score, x, at::zeros({1}, at::kLong), 0, 1, o, 7.0);
    const double delta = l.delta_logp.item<double>();
    std::printf("[evidence] %-8s delta log p %.6f (table %.6f), nfev %ld (table %ld)\n", r.sde,
                delta, r.delta, l.nfe[0], r.nfev);
    EXPECT_NEAR(delta, r.delta, 1e-4) << r.sde;
    EXPECT_NEAR(static_cast<double>(l.nfe[0]), static_cast<double>(r.nfev), 12) << r.sde;
  }
}

TEST(Likelihood, ExactAndHutchinsonDivergencesAgreeForAnAffineFlow) {
  const Analytic a = gaussian("vpsde", 0.3, 0.5);
  at::manual_seed(1);
  const at::Tensor x = 0.3 + 0.5 * at::randn({4, 1, 2, 3});
  const at::Tensor idx = at::arange(4, at::kLong);
  LikelihoodOptions exact, rademacher, k3;
  exact.divergence = "exact";
  k3.probes = 3;
  const double e = likelihood(a.sde, a.score, x, idx, 0, 1, exact, 8).bpd.sum().item<double>();
  const double h = likelihood(a.sde, a.score, x, idx, 0, 1, rademacher, 8).bpd.sum().item<double>();
  const double h3 = likelihood(a.sde, a.score, x, idx, 0, 1, k3, 8).bpd.sum().item<double>();
  std::printf("[evidence] sum of bpd: exact %.8f, Rademacher %.8f, 3 probes %.8f\n", e, h, h3);
  EXPECT_NEAR(e, h, 1e-5);
  EXPECT_NEAR(e, h3, 1e-5);
}

}  // namespace
}  // namespace sgm::eval
