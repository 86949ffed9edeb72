// EDM's Heun schedule and controllable generation on the analytic `gaussian` model (exact
// scores): the published noise levels; sigma(t) and its inverse against the closed forms; the
// Heun sampler converges at second order to the RK45 solution and reproduces the data moments
// within 2 % for VE, VP and sub-VP (deterministic and with churn); inpainting keeps the known
// pixels and completes the rest from the right mode of a two-mode mixture; colourisation keeps the
// grey channel and samples the colour directions with the data's variance.
#include "eval/controllable.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/script.h>

#include "eval/classifier_guidance.h"
#include "eval/edm_heun.h"
#include "eval/sampling.h"
#include "tests/eval/analytic_setup.h"
#include "trainer/core/error.h"

namespace sgm::eval {
namespace {

struct Moments {
  double mean = 0;
  double variance = 0;
};

Moments moments(const at::Tensor& x) {
  const at::Tensor d = x.to(at::kDouble);
  return {d.mean().item<double>(), d.var().item<double>()};
}

TEST(EdmHeun, ScheduleMatchesThePublishedNoiseLevels) {
  const std::vector<double> s = edm_sigmas(0.002, 80, 18, 7);
  ASSERT_EQ(s.size(), 19u);
  // EDM's schedule for N = 18, rho = 7: 80, 57.59, 40.79, ..., 0.02293, 0.007528, 0.002, then 0.
  const std::vector<std::pair<std::size_t, double>> published = {
      {0, 80}, {1, 57.59}, {2, 40.79}, {15, 0.02293}, {16, 0.007528}, {17, 0.002}};
  double worst = 0;
  for (const auto& [i, v] : published) worst = std::max(worst, std::abs(s[i] - v) / v);
  std::printf(
      "[evidence] EDM schedule N=18: max relative error vs the published 4 digits %.2e "
      "(tolerance 2e-4); last %.1f\n",
      worst, s[18]);
  EXPECT_LT(worst, 2e-4);
  EXPECT_EQ(s[18], 0.0);
}

TEST(EdmHeun, NoiseLevelAndItsInverseMatchTheClosedForms) {
  for (const char* name : {"vesde", "vpsde", "subvpsde"}) {
    const Analytic a = analytic(name, {0.0}, {1.0}, {1});
    double worst_sigma = 0, worst_t = 0;
    for (double t : {1e-5, 1e-3, 0.1, 0.5, 0.9, 1.0}) {
      double expected = 0;
      const double integral = 0.1 * t + 0.5 * (20 - 0.1) * t * t;  // int_0^t beta (score_sde)
      if (std::string(name) == "vesde") expected = 0.01 * std::pow(50 / 0.01, t);
      if (std::string(name) == "vpsde") expected = std::sqrt(std::exp(integral) - 1);
      if (std::string(name) == "subvpsde") expected = 2 * std::sinh(integral / 2);
      worst_sigma = std::max(worst_sigma, std::abs(noise_level(*a.sde, t) - expected) / expected);
      worst_t = std::max(worst_t, std::abs(time_of_noise_level(*a.sde, expected) - t) / t);
    }
    std::printf(
        "[evidence] %s: sigma(t) max rel err %.2e, t(sigma) max rel err %.2e "
        "(tolerance 1e-6)\n",
        name, worst_sigma, worst_t);
    EXPECT_LT(worst_sigma, 1e-6);
    EXPECT_LT(worst_t, 1e-6);
  }
}

TEST(EdmHeun, ConvergesAtSecondOrderToTheOdeSolution) {
  // Against the RK45 solution (rtol = atol = 1e-5) from the same prior noise: Heun's error falls
  // about 4x when the steps double.
  const Analytic a = analytic("vesde", {1.0}, {0.5}, {1});
  const at::Tensor indices = at::arange(16, at::kLong);
  SamplingOptions o;
  o.method = "ode";
  const Samples reference = draw_samples(a.sde, a.score, indices, {3, 8, 8}, 3, o, at::kCPU);
  o.ode_solver = "edm_heun";
  std::vector<double> errors;
  for (std::int64_t steps : {18, 36, 72}) {
    o.edm.steps = steps;
    const Samples out = draw_samples(a.sde, a.score, indices, {3, 8, 8}, 3, o, at::kCPU);
    errors.push_back((out.x - reference.x).abs().max().item<double>());
  }
  std::printf(
      "[evidence] EDM Heun vs RK45, max |diff| at 18 / 36 / 72 steps: %.2e / %.2e / %.2e "
      "(ratios %.1f, %.1f; second order: >= 3)\n",
      errors[0], errors[1], errors[2], errors[0] / errors[1], errors[1] / errors[2]);
  EXPECT_GT(errors[0] / errors[1], 3);
  EXPECT_GT(errors[1] / errors[2], 3);
}

TEST(EdmHeun, ReproducesTheDataMomentsForEverySde) {
  // At 18 steps the schedule overshoots this Gaussian's variance by 8-12 % (the error above);
  // 64 deterministic steps and 128 with churn are inside 2 %.
  const double mu = 1.0, s = 0.5;
  for (const char* name : {"vesde", "vpsde", "subvpsde"}) {
    for (double churn : {0.0, 10.0}) {
      const Analytic a = analytic(name, {mu}, {s}, {1});
      SamplingOptions o;
      o.method = "ode";
      o.ode_solver = "edm_heun";
      o.edm.churn = churn;
      o.edm.steps = churn > 0 ? 128 : 64;
      validate(o, name);
      const Samples out =
          draw_samples(a.sde, a.score, at::arange(64, at::kLong), {3, 16, 16}, 3, o, at::kCPU);
      const Moments m = moments(out.x);
      const double mean_err = std::abs(m.mean - mu) / mu;
      const double var_err = std::abs(m.variance - s * s) / (s * s);
      std::printf(
          "[evidence] %-8s EDM Heun %3ld steps churn %4.1f: NFE %ld, mean %.4f (err "
          "%.2f%%), variance %.4f (err %.2f%%; tolerance 2%%)\n",
          name, o.edm.steps, churn, out.nfe[0], m.mean, 100 * mean_err, m.variance, 100 * var_err);
      EXPECT_EQ(out.nfe[0], 2 * o.edm.steps - 1);
      EXPECT_LT(mean_err, 0.02);
      EXPECT_LT(var_err, 0.02);
    }
  }
}

TEST(Controllable, InpaintingKeepsTheKnownPixelsAndCompletesFromTheirMode) {
  // Modes at -1 and +1 (std 0.3), equal weights. The known left half comes from the +1 mode, so
  // the generated right half must too (unconditional samples would have mean 0).
  const double s = 0.3;
  const Analytic a = analytic("vesde", {-1.0, 1.0}, {s, s}, {1, 1}, 1000);
  const std::int64_t B = 64;
  at::manual_seed(0);
  const at::Tensor known = 1 + s * at::randn({B, 3, 16, 16});
  const at::Tensor mask = inpainting_mask("left_half", 16, 16);
  const Constraint c = inpainting(known, mask);
  SamplingOptions o;
  o.snr = 0.075;
  const Samples out =
      draw_samples(a.sde, a.score, at::arange(B, at::kLong), {3, 16, 16}, 5, o, at::kCPU, {}, &c);
  const double kept = (out.x - known).mul(mask).abs().max().item<double>();
  const Moments m = moments(out.x.narrow(3, 8, 8));
  std::printf(
      "[evidence] VE PC inpainting of the right half: known pixels max |diff| %.2e "
      "(tolerance 1e-6); generated mean %.4f (mode +1, tolerance 0.02), variance %.4f "
      "(data %.4f, err %.2f%%, tolerance 2%%)\n",
      kept, m.mean, m.variance, s * s, 100 * std::abs(m.variance - s * s) / (s * s));
  EXPECT_LT(kept, 1e-6);
  EXPECT_NEAR(m.mean, 1.0, 0.02);
  EXPECT_NEAR(m.variance, s * s, 0.02 * s * s);
  EXPECT_THROW(inpainting_mask("right_third", 16, 16), core::UsageError);
}

TEST(Controllable, ColorizationKeepsTheGreyChannelAndSamplesTheColours) {
  // Modes at -1 and +1 along (1, 1, 1) with std 0.3 per channel: given the grey channel, the two
  // colour directions of the decoupled space are N(0, 0.3^2) whatever the mode.
  const double s = 0.3;
  const Analytic a = analytic("vesde", {-1.0, 1.0}, {s, s}, {1, 1}, 1000);
  const std::int64_t B = 64;
  at::manual_seed(1);
  const at::Tensor colour = -1 + s * at::randn({B, 3, 16, 16});
  const Constraint c = colorization(greyscale(colour));
  SamplingOptions o;
  o.snr = 0.075;
  const Samples out =
      draw_samples(a.sde, a.score, at::arange(B, at::kLong), {3, 16, 16}, 9, o, at::kCPU, {}, &c);
  const double grey = (out.x.mean(1) - colour.mean(1)).abs().max().item<double>();
  const at::Tensor y = c.to_space(out.x);
  const Moments m1 = moments(y.select(1, 1)), m2 = moments(y.select(1, 2));
  std::printf(
      "[evidence] VE PC colourisation: grey channel max |diff| %.2e (tolerance 1e-5); "
      "colour directions mean %.4f / %.4f (tolerance 0.02), variance %.4f / %.4f "
      "(data %.4f, tolerance 2%%)\n",
      grey, m1.mean, m2.mean, m1.variance, m2.variance, s * s);
  EXPECT_LT(grey, 1e-5);
  for (const Moments& m : {m1, m2}) {
    EXPECT_NEAR(m.mean, 0.0, 0.02);
    EXPECT_NEAR(m.variance, s * s, 0.02 * s * s);
  }
  // M is orthonormal: back and forth is the identity.
  EXPECT_LT((c.from_space(c.to_space(colour)) - colour).abs().max().item<double>(), 1e-6);
}

TEST(Controllable, RefusesTheOdeSampler) {
  const Analytic a = analytic("vesde", {0.0}, {1.0}, {1}, 10);
  const Constraint c = inpainting(at::zeros({1, 1, 4, 4}), inpainting_mask("center", 4, 4));
  SamplingOptions o;
  o.method = "ode";
  EXPECT_THROW(
      draw_samples(a.sde, a.score, at::zeros({1}, at::kLong), {1, 4, 4}, 0, o, at::kCPU, {}, &c),
      core::UsageError);
}

// The exact classifier of a VE mixture of N(mu_k 1, s^2 I) components as a TorchScript module
// forward(x, sigma): the added variance at noise level sigma is sigma^2 - sigma_min^2.
std::string save_mixture_classifier(const std::vector<double>& means, double s,
                                    const std::vector<double>& weights) {
  torch::jit::Module m("MixtureClassifier");
  m.register_buffer("mu", at::tensor(means, at::kDouble));
  m.register_buffer("log_w", at::tensor(weights, at::kDouble).log());
  m.register_attribute("s2", c10::FloatType::get(), s * s);
  m.define(R"(
def forward(self, x, sigma):
    d = x.double().flatten(1)
    v = self.s2 + sigma.double() ** 2 - 0.0001
    sq = (d.unsqueeze(1) - self.mu.view(1, -1, 1)) ** 2
    return self.log_w.view(1, -1) - 0.5 * sq.sum(2) / v.view(-1, 1) - 0.5 * d.size(1) * torch.log(v).view(-1, 1)
)");
  const std::string path =
      (std::filesystem::temp_directory_path() / "sgm_mixture_classifier.pt").string();
  m.save(path);
  return path;
}

TEST(ClassifierGuidance, DrawsEachSampleFromTheModeOfItsLabel) {
  // Modes at -1 and +1 (std 0.2), weights 1 : 3; labels alternate 0, 1 (i mod 2). Guided by the
  // exact classifier, the score is that of p_t(x | y): every sample lands in its label's mode.
  const double s = 0.2;
  const Analytic a = analytic("vesde", {-1.0, 1.0}, {s, s}, {1, 3}, 500);
  const std::string path = save_mixture_classifier({-1.0, 1.0}, s, {1, 3});
  const ClassifierFn classifier = load_torchscript_classifier(path, a.sde, at::kCPU);
  // The TorchScript module against the analytic model's own posterior.
  at::manual_seed(2);
  const at::Tensor x = at::randn({8, 3, 4, 4}) * 3;
  const at::Tensor t = at::rand({8}) * 0.9 + 0.05;
  const double posterior_err =
      (at::log_softmax(classifier(x, t).to(at::kDouble), 1) - a.model->log_posterior(x, t))
          .abs()
          .max()
          .item<double>();
  const std::int64_t B = 1024;
  const at::Tensor indices = at::arange(B, at::kLong);
  const at::Tensor labels = sample_labels(indices, -1, 2);
  SamplingOptions o;
  o.corrector = "ald";
  o.snr = 0.075;
  const Samples out = draw_samples(a.sde, guided_score(a.score, classifier, labels, 1.0), indices,
                                   {3, 4, 4}, 4, o, at::kCPU);
  const at::Tensor means = out.x.reshape({B, -1}).mean(1);
  const double agree = ((means > 0).to(at::kLong) == labels).to(at::kDouble).mean().item<double>();
  const at::Tensor mode0 = out.x.index({labels == 0});
  const Moments m = moments(mode0);
  std::printf(
      "[evidence] classifier guidance (TorchScript classifier, log-posterior max |diff| "
      "%.2e vs the analytic one, tolerance 1e-4: sigma in float32): %.4f of %ld samples in their "
      "label's "
      "mode (tolerance >= 0.99); label 0: mean %.4f (mode -1), variance %.4f (data %.4f, "
      "err %.2f%%)\n",
      posterior_err, agree, static_cast<long>(B), m.mean, m.variance, s * s,
      100 * std::abs(m.variance - s * s) / (s * s));
  EXPECT_LT(posterior_err, 1e-4);
  EXPECT_GE(agree, 0.99);
  EXPECT_NEAR(m.mean, -1.0, 0.02);
  EXPECT_NEAR(m.variance, s * s, 0.02 * s * s);
  std::filesystem::remove(path);
  EXPECT_THROW(load_torchscript_classifier(path, a.sde, at::kCPU), core::UsageError);
}

}  // namespace
}  // namespace sgm::eval
