// The SDEs against closed forms: marginals, prior_logp, discretisations
// that telescope to the marginals, a forward simulation whose moments match the marginals,
// score wrappers and labels, and the VE/VP equivalence x_VP = x_VE / sqrt(1 + sigma^2).
#include <cmath>
#include <cstdio>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "trainer/core/error.h"
#include "trainer/core/rng.h"
#include "trainer/sde/registry.h"
#include "trainer/sde/score_fn.h"
#include "trainer/sde/vesde.h"
#include "trainer/sde/vpsde.h"

namespace sgm::sde {
namespace {

using sgm::testing::near_with_evidence;
using sgm::testing::tensors_close;

const at::Tensor kTimes = at::tensor({1e-5, 0.1, 0.37, 0.5, 0.9, 1.0}, at::kDouble);

double vp_L(double t, double b0 = 0.1, double b1 = 20.0) {
  return -0.25 * t * t * (b1 - b0) - 0.5 * t * b0;
}

TEST(Sde, MarginalsMatchClosedForms) {
  VPSDE vp(0.1, 20.0, 1000);
  SubVPSDE subvp(0.1, 20.0, 1000);
  VESDE ve(0.01, 50.0, 1000);
  at::Tensor x = at::ones({6, 2}, at::kDouble).mul(0.7);
  std::vector<double> vp_mean, vp_std, sub_std, ve_std;
  for (int i = 0; i < 6; ++i) {
    double t = kTimes[i].item<double>();
    double a = std::exp(vp_L(t));
    vp_mean.push_back(0.7 * a);
    vp_std.push_back(std::sqrt(1 - a * a));
    sub_std.push_back(1 - a * a);
    ve_std.push_back(0.01 * std::pow(5000.0, t));
  }
  auto col = [](const std::vector<double>& v) { return at::tensor(v, at::kDouble); };
  MeanStd m = vp.marginal_prob(x, kTimes);
  EXPECT_TRUE(tensors_close("VP mean", m.mean.select(1, 0), col(vp_mean), 1e-12));
  EXPECT_TRUE(tensors_close("VP std", m.std, col(vp_std), 1e-12));
  EXPECT_TRUE(tensors_close("subVP std", subvp.marginal_prob(x, kTimes).std, col(sub_std), 1e-12));
  EXPECT_TRUE(tensors_close("VE std", ve.marginal_prob(x, kTimes).std, col(ve_std), 1e-9));
  EXPECT_TRUE(tensors_close("VE mean", ve.marginal_prob(x, kTimes).mean, x, 0));
  // g^2 of the VE SDE is d sigma^2 / dt; for subVP, g^2 = beta (1 - exp(4L)).
  DriftDiffusion d = ve.sde(x, kTimes);
  EXPECT_TRUE(tensors_close("VE g^2 = d sigma^2/dt", d.diffusion.square(),
                            col(ve_std).square().mul(2 * std::log(5000.0)), 1e-6));
  at::Tensor beta = kTimes.mul(19.9).add(0.1);
  at::Tensor four_l = kTimes.square().mul(-19.9).sub(kTimes.mul(0.2));
  EXPECT_TRUE(tensors_close("subVP g^2", subvp.sde(x, kTimes).diffusion.square(),
                            beta.mul(four_l.exp().neg().add(1)), 1e-12));
}

TEST(Sde, PriorLogpIsTheGaussianDensity) {
  at::Tensor z = core::CounterRng(3)
                     .normal(at::arange(4, at::kLong), 12, core::RngStream::kTest)
                     .to(at::kDouble)
                     .view({4, 3, 2, 2});
  at::Tensor sq = z.square().reshape({4, -1}).sum(1);
  const double D = 12;
  EXPECT_TRUE(tensors_close("VP prior_logp", VPSDE(0.1, 20, 1000).prior_logp(z),
                            sq.mul(-0.5).sub(D / 2 * std::log(2 * M_PI)), 1e-12));
  const double s = 50.0;
  EXPECT_TRUE(tensors_close("VE prior_logp", VESDE(0.01, s, 1000).prior_logp(z),
                            sq.div(-2 * s * s).sub(D / 2 * std::log(2 * M_PI * s * s)), 1e-10));
  EXPECT_TRUE(tensors_close("VE prior_sampling scales by sigma_max",
                            VESDE(0.01, s, 1000).prior_sampling(z), z.mul(s), 0));
}

TEST(Sde, DiscretisationsTelescopeToTheMarginals) {
  // VE: sum_i G_i^2 over all steps = sigma_max^2 (SMLD noise increments), f = 0.
  VESDE ve(0.01, 50.0, 1000);
  at::Tensor t = at::arange(1000, at::kFloat).div(999.0);
  at::Tensor x = at::zeros({1000, 1});
  DriftDiffusion d = ve.discretize(x, t);
  EXPECT_TRUE(near_with_evidence("VE sum G_i^2 / sigma_max^2",
                                 d.diffusion.to(at::kDouble).square().sum().item<double>() / 2500.0,
                                 1.0, 1e-5));
  // VP: prod_i sqrt(alpha_i) = sqrt(alphabar_{N-1}), which approximates exp(L(1)).
  VPSDE vp(0.1, 20.0, 1000);
  DriftDiffusion dv = vp.discretize(at::ones({1000, 1}), t);
  at::Tensor coeff = dv.drift.add(1).squeeze(1).to(at::kDouble);  // sqrt(alpha_i) x with x = 1
  EXPECT_TRUE(near_with_evidence("VP prod sqrt(alpha_i) vs sqrt(alphabar_N-1)",
                                 coeff.prod().item<double>(),
                                 vp.sqrt_alphas_cumprod()[999].item<double>(), 1e-7));
  // The DDPM chain approximates the continuous mean coefficient only to O(1/N) in the exponent:
  // prod(1 - beta_i) vs exp(-int beta) differ by 3.3 % at t = 1 for N = 1000.
  EXPECT_TRUE(near_with_evidence("VP sqrt(alphabar_N-1) / exp(L(1))",
                                 vp.sqrt_alphas_cumprod()[999].item<double>() / std::exp(vp_L(1.0)),
                                 1.0, 0.04));
  // Euler-Maruyama (subVP): f = f(x,t)/N, G = g(t)/sqrt(N).
  SubVPSDE sub(0.1, 20.0, 1000);
  DriftDiffusion ds = sub.discretize(at::ones({1, 1}), at::tensor({0.5}));
  DriftDiffusion cs = sub.sde(at::ones({1, 1}), at::tensor({0.5}));
  EXPECT_TRUE(tensors_close("EM drift", ds.drift, cs.drift.div(1000), 1e-9));
  EXPECT_TRUE(
      tensors_close("EM diffusion", ds.diffusion, cs.diffusion.div(std::sqrt(1000.0)), 1e-9));
}

// Simulates dx = f dt + g dw with Euler-Maruyama from N(mu, s^2) and compares the moments at
// t = 1 (Gaussian data N(mu, s^2) perturbed by each SDE): VP alpha^2 s^2 + 1 - alpha^2,
// subVP alpha^2 s^2 + (1-alpha^2)^2, VE s^2 + sigma_max^2 - sigma_min^2.
TEST(Sde, ForwardSimulationMatchesMarginalMoments) {
  const std::int64_t n = 40000;
  const int steps = 1000;
  const double mu = 0.3, s = 0.5;
  core::CounterRng rng(11);
  at::Tensor index = at::arange(n, at::kLong);
  for (const char* name : {"vpsde", "subvpsde", "vesde"}) {
    auto sde = make_sde({name, 0.01, 50.0, 0.1, 20.0, steps});
    at::Tensor x = rng.normal(index, 1, core::RngStream::kTest).to(at::kDouble).mul(s).add(mu);
    at::Tensor noise = rng.normal(index, steps, core::RngStream::kNoise).to(at::kDouble);
    const double dt = 1.0 / steps;
    for (int i = 0; i < steps; ++i) {
      at::Tensor t = at::full({n}, (i + 0.5) * dt, at::kDouble);
      DriftDiffusion d = sde->sde(x, t);
      x = x + d.drift * dt +
          batch_view(d.diffusion, x) * std::sqrt(dt) * noise.select(1, i).unsqueeze(1);
    }
    const double a = std::exp(vp_L(1.0));
    double mean = std::string(name) == "vesde" ? mu : a * mu;
    double var = std::string(name) == "vpsde"      ? a * a * s * s + 1 - a * a
                 : std::string(name) == "subvpsde" ? a * a * s * s + (1 - a * a) * (1 - a * a)
                                                   : s * s + 2500.0 - 1e-4;
    // Standard errors of the sample mean and variance of a Gaussian: sqrt(v/n), v sqrt(2/n).
    EXPECT_TRUE(near_with_evidence(std::string(name) + " mean at t=1", x.mean().item<double>(),
                                   mean, 4 * std::sqrt(var / n)));
    EXPECT_TRUE(near_with_evidence(std::string(name) + " variance at t=1 (relative)",
                                   x.var().item<double>() / var, 1.0,
                                   4 * std::sqrt(2.0 / n) + 2e-3));
  }
}

// What each SDE says about itself instead of being asked its type: the reference's sampling_eps,
// which SDEs have SMLD/DDPM's discrete form, and the discrete quantities the samplers use.
TEST(Sde, EachSdeAnswersForItsOwnDiscreteForm) {
  auto vp = std::dynamic_pointer_cast<const VPSDE>(make_sde({"vpsde"}));
  auto ve = std::dynamic_pointer_cast<const VESDE>(make_sde({"vesde"}));
  auto sub = make_sde({"subvpsde"});
  std::printf("[evidence] sampling eps: ve %g vp %g subvp %g; discrete form: %d %d %d\n",
              ve->default_sampling_eps(), vp->default_sampling_eps(), sub->default_sampling_eps(),
              ve->has_discrete_form(), vp->has_discrete_form(), sub->has_discrete_form());
  EXPECT_EQ(ve->default_sampling_eps(), 1e-5);
  EXPECT_EQ(vp->default_sampling_eps(), 1e-3);
  EXPECT_EQ(sub->default_sampling_eps(), 1e-3);
  EXPECT_TRUE(ve->has_discrete_form());
  EXPECT_TRUE(vp->has_discrete_form());
  EXPECT_FALSE(sub->has_discrete_form());
  EXPECT_THROW(sub->corrector_alpha(at::tensor({0.5f})), core::Error);
  const at::Tensor t = at::tensor({0.0f, 0.5f, 1.0f});
  EXPECT_EQ(vp->timestep(t)[1].item<std::int64_t>(), 499);  // floor(0.5 * 999)
  EXPECT_TRUE(tensors_close("VE corrector alpha = 1", ve->corrector_alpha(t), at::ones_like(t), 0));
  EXPECT_TRUE(tensors_close("VP corrector alpha = alphas[i]", vp->corrector_alpha(t),
                            vp->alphas().index_select(0, vp->timestep(t)), 0));
  // Ancestral step at the lowest level (i = 0): VE adds sigma_0^2 s and no noise; VP's std is
  // sqrt(beta_0).
  const at::Tensor x = at::ones({3, 2});
  const at::Tensor score = at::full({3, 2}, 2.0f);
  const MeanStd first = ve->ancestral_step(x, at::zeros({3}), score);
  const float s0 = ve->discrete_sigmas()[0].item<float>();
  EXPECT_TRUE(tensors_close("VE ancestral mean at i=0", first.mean, x + score * (s0 * s0), 1e-7));
  EXPECT_TRUE(tensors_close("VE ancestral std at i=0", first.std, at::zeros({3}), 0));
  EXPECT_TRUE(tensors_close("VP ancestral std at i=0",
                            vp->ancestral_step(x, at::zeros({3}), score).std,
                            vp->discrete_betas()[0].sqrt().expand({3}), 0));
}

TEST(Sde, ScoreWrappersAndLabelsFollowTheReference) {
  auto vp = make_sde({"vpsde"});
  auto ve = make_sde({"vesde"});
  auto sub = make_sde({"subvpsde"});
  at::Tensor t = at::tensor({0.25f, 0.5f});
  EXPECT_TRUE(
      tensors_close("VP continuous label 999t", network_labels(*vp, t, true), t.mul(999), 0));
  EXPECT_TRUE(
      tensors_close("VP discrete label t(N-1)", network_labels(*vp, t, false), t.mul(999), 0));
  EXPECT_TRUE(tensors_close("subVP label 999t", network_labels(*sub, t, false), t.mul(999), 0));
  EXPECT_TRUE(tensors_close("VE continuous label sigma(t)", network_labels(*ve, t, true),
                            ve->marginal_prob(t, t).std, 0));
  at::Tensor ve_discrete = network_labels(*ve, t, false);
  EXPECT_EQ(ve_discrete.scalar_type(), at::kLong);
  EXPECT_EQ(ve_discrete[0].item<std::int64_t>(), 749);  // round(0.75 * 999) = 749 (749.25)
  EXPECT_EQ(ve_discrete[1].item<std::int64_t>(), 500);  // round(499.5) = 500 (half to even)

  // Gaussian data N(mu, s^2): a network that outputs -std(t) * exact score gives back the exact
  // score through the VP wrapper; the VE wrapper passes the network output through.
  const double mu = 0.3, s = 0.5;
  at::Tensor x = at::linspace(-2, 2, 8).view({2, 4});
  for (auto sde : {vp, sub}) {
    MeanStd m = sde->marginal_prob(at::full({2, 1}, mu), t);
    at::Tensor alpha = m.mean.squeeze(1).div(mu);
    at::Tensor var = alpha.square().mul(s * s).add(m.std.square());
    at::Tensor exact = x.sub(batch_view(alpha.mul(mu), x)).neg().div(batch_view(var, x));
    ModelFn net = [&](const at::Tensor& xx, const at::Tensor&) {
      return exact.mul(batch_view(m.std, xx)).neg();
    };
    EXPECT_TRUE(
        tensors_close("VP-family score wrapper", get_score_fn(sde, net, true)(x, t), exact, 1e-6));
  }
  ModelFn identity = [](const at::Tensor& xx, const at::Tensor&) { return xx.mul(2); };
  EXPECT_TRUE(
      tensors_close("VE score wrapper", get_score_fn(ve, identity, true)(x, t), x.mul(2), 0));
}

TEST(Sde, ReverseSdeAndProbabilityFlow) {
  // Reverse drift f - g^2 s, probability flow f - g^2 s / 2 with zero diffusion; the same for
  // the discretised forms with (f_i, G_i).
  ScoreFn score = [](const at::Tensor& x, const at::Tensor&) { return x.mul(-1.3).add(0.2); };
  at::Tensor x = at::linspace(-1, 1, 6, at::kDouble).view({3, 2});
  at::Tensor t = at::tensor({0.1, 0.5, 0.9}, at::kDouble);
  for (const char* name : {"vpsde", "subvpsde", "vesde"}) {
    auto sde = make_sde({name});
    DriftDiffusion fwd = sde->sde(x, t);
    DriftDiffusion disc = sde->discretize(x, t);
    at::Tensor g2 = batch_view(fwd.diffusion.square(), x),
               G2 = batch_view(disc.diffusion.square(), x);
    for (bool pf : {false, true}) {
      auto rev = sde->reverse(score, pf);
      const double w = pf ? 0.5 : 1.0;
      DriftDiffusion r = rev->sde(x, t);
      EXPECT_TRUE(tensors_close(std::string(name) + (pf ? " PF drift" : " reverse drift"), r.drift,
                                fwd.drift - g2 * score(x, t) * w, 1e-12));
      EXPECT_TRUE(tensors_close(std::string(name) + " reverse diffusion", r.diffusion,
                                pf ? fwd.diffusion * 0 : fwd.diffusion, 0));
      DriftDiffusion rd = rev->discretize(x, t);
      EXPECT_TRUE(tensors_close(std::string(name) + " reverse discretize f", rd.drift,
                                disc.drift - G2 * score(x, t) * w, 1e-12));
      EXPECT_TRUE(tensors_close(std::string(name) + " reverse discretize G", rd.diffusion,
                                pf ? disc.diffusion * 0 : disc.diffusion, 0));
    }
  }
}

TEST(Sde, VeVpEquivalence) {
  // VP at time t has mean coefficient alpha and std sigma_t with alpha^2 + sigma_t^2 = 1; with
  // sigma = sigma_t / alpha, x_VP = alpha x0 + sigma_t z = (x0 + sigma z) / sqrt(1 + sigma^2).
  VPSDE vp(0.1, 20.0, 1000);
  at::Tensor t = at::tensor({0.05, 0.3, 0.8}, at::kDouble);
  at::Tensor x0 = at::tensor({0.2, -0.4, 0.9}, at::kDouble).unsqueeze(1);
  at::Tensor z = at::tensor({1.1, 0.3, -0.7}, at::kDouble).unsqueeze(1);
  MeanStd m = vp.marginal_prob(x0, t);
  at::Tensor alpha = vp.log_mean_coeff(t).exp();
  at::Tensor sigma = m.std.div(alpha);
  at::Tensor x_vp = m.mean.add(batch_view(m.std, x0).mul(z));
  at::Tensor x_ve = x0.add(batch_view(sigma, x0).mul(z));
  EXPECT_TRUE(tensors_close("x_VP = x_VE / sqrt(1 + sigma^2)", x_vp,
                            x_ve.div(batch_view(sigma.square().add(1).sqrt(), x0)), 1e-12));
  // Scores of Gaussian data N(mu, s^2) transform as s_VP(x_VP) = sqrt(1 + sigma^2) s_VE(x_VE).
  const double mu = 0.3, s = 0.5;
  at::Tensor score_ve = x_ve.sub(mu).neg().div(batch_view(sigma.square().add(s * s), x0));
  at::Tensor score_vp = x_vp.sub(batch_view(alpha, x0).mul(mu))
                            .neg()
                            .div(batch_view(alpha.square().mul(s * s).add(m.std.square()), x0));
  EXPECT_TRUE(tensors_close("s_VP = sqrt(1 + sigma^2) s_VE", score_vp,
                            score_ve.mul(batch_view(sigma.square().add(1).sqrt(), x0)), 1e-12));
}

}  // namespace
}  // namespace sgm::sde
