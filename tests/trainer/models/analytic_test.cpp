// The analytic model `gaussian`: its marginal coefficients agree with the SDE library, its score
// is the gradient of its log density (autograd), a single Gaussian gives -(x - a mu)/(a^2 s^2 + v),
// and through the score wrappers of every SDE it returns the exact score.
#include "trainer/models/analytic.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include "tests/support/compare.h"
#include "trainer/core/error.h"
#include "trainer/models/registry.h"
#include "trainer/sde/registry.h"
#include "trainer/sde/score_fn.h"

namespace sgm::models {
namespace {

using sgm::testing::tensors_close;

core::SdeOptions process(const std::string& sde) {
  core::SdeOptions s;
  s.name = sde;
  return s;
}

// The same mixture as a configuration's [model] section (model.name = gaussian).
ModelOptions mixture_config() {
  ModelOptions o;
  o.name = "gaussian";
  o.gaussian_mean = {0.3, -0.6};
  o.gaussian_std = {0.5, 0.2};
  o.gaussian_weight = {1.0, 3.0};
  return o;
}

GaussianMixtureOptions mixture(const std::string& sde) {
  return GaussianMixtureOptions()
      .mean({0.3, -0.6})
      .std({0.5, 0.2})
      .weight({1.0, 3.0})
      .sde(process(sde));
}

const at::Tensor kT = at::tensor({1e-3, 0.2, 0.55, 1.0}, at::kDouble);

TEST(Analytic, MarginalCoefficientsAgreeWithTheSdes) {
  for (const char* name : {"vpsde", "subvpsde", "vesde"}) {
    GaussianMixtureScore model(mixture(name));
    auto sde = sde::make_sde({name});
    sde::MeanStd m = sde->marginal_prob(at::ones({4, 1}, at::kDouble), kT);
    EXPECT_TRUE(
        tensors_close(std::string(name) + " a(t)", model.mean_coeff(kT), m.mean.squeeze(1), 1e-12));
    at::Tensor v = std::string(name) == "vesde" ? m.std.square().sub(1e-4) : m.std.square();
    EXPECT_TRUE(tensors_close(std::string(name) + " v(t)", model.added_variance(kT), v, 1e-9));
  }
}

TEST(Analytic, ScoreIsTheGradientOfTheLogDensity) {
  for (const char* name : {"vpsde", "subvpsde", "vesde"}) {
    GaussianMixtureScore model(mixture(name));
    at::Tensor x = at::linspace(-1.5, 1.2, 4 * 6, at::kDouble).view({4, 6}).requires_grad_(true);
    at::Tensor logp = model.log_density(x, kT);
    at::Tensor grad = torch::autograd::grad({logp.sum()}, {x})[0];
    EXPECT_TRUE(tensors_close(std::string(name) + " score = grad log p_t",
                              model.score(x.detach(), kT), grad, 1e-10));
  }
}

TEST(Analytic, SingleGaussianClosedForm) {
  GaussianMixtureScore model(
      GaussianMixtureOptions().mean({0.3}).std({0.5}).weight({1.0}).sde(process("vpsde")));
  at::Tensor x = at::linspace(-1, 1, 8, at::kDouble).view({4, 2});
  at::Tensor a = model.mean_coeff(kT).unsqueeze(1);
  at::Tensor var = a.square().mul(0.25).add(a.square().neg().add(1));
  EXPECT_TRUE(tensors_close("-(x - a mu)/(a^2 s^2 + 1 - a^2)", model.score(x, kT),
                            x.sub(a.mul(0.3)).neg().div(var), 1e-12));
}

TEST(Analytic, ScoreWrappersReturnTheExactScore) {
  for (const char* name : {"vpsde", "subvpsde", "vesde"}) {
    auto model = make_model(mixture_config(), DataShape{}, process(name));
    auto* analytic = dynamic_cast<GaussianMixtureScore*>(model.get());
    ASSERT_NE(analytic, nullptr);
    auto sde = sde::make_sde({name});
    sde::ScoreFn score = sde::get_score_fn(
        sde,
        [&](const at::Tensor& x, const at::Tensor& labels) { return model->forward(x, labels); },
        true);
    at::Tensor x = at::linspace(-2, 2, 4 * 3 * 2 * 2, at::kDouble).view({4, 3, 2, 2});
    EXPECT_TRUE(tensors_close(std::string(name) + " wrapper(net) = exact score", score(x, kT),
                              analytic->score(x, kT), 1e-9));
  }
}

TEST(Analytic, RejectsInconsistentComponents) {
  GaussianMixtureOptions o = mixture("vpsde");
  o.std({0.5});
  EXPECT_THROW(GaussianMixtureScore{o}, core::UsageError);
  GaussianMixtureOptions discrete = mixture("vpsde");
  discrete.sde().continuous = false;
  EXPECT_THROW(GaussianMixtureScore{discrete}, core::UsageError);
  // Through the registry from a configuration: the same refusals.
  ModelOptions c = mixture_config();
  c.gaussian_std = {0.5};
  EXPECT_THROW(make_model(c, DataShape{}, process("vpsde")), core::UsageError);
}

}  // namespace
}  // namespace sgm::models
