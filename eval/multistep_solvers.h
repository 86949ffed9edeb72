// Few-step solvers of the probability-flow ODE in EDM form, for every SDE: DPM-Solver++ (Lu et
// al. 2022, arXiv 2211.01095) multistep of order 2 and 3 in data-prediction form, and UniPC (Zhao
// et al. 2023, arXiv 2302.04867) with its B(h) = e^h - 1 ("bh2") coefficients.
//
// An SDE with mean coefficient m(t) and std s(t) is x = m(t) (y + sigma n) with noise level
// sigma(t) = s(t) / m(t). In y the ODE is dy/dsigma = (y - D(y; sigma)) / sigma with the denoiser
// D(y; sigma) = y + sigma^2 m s_theta(m y, t(sigma)), and with lambda = -log sigma its solution is
//   y(lambda) = e^{-(lambda - lambda_0)} y_0 + integral of e^{-(lambda - l)} D dl,
// whose linear part is exact; the solvers approximate D along the way by the polynomial through
// the last k denoiser values (k = the order). The same update serves VE, VP and sub-VP: only
// sigma(t) and m(t) differ. Computed in float64, the network in float32.
//
// Noise levels from sigma_max to sigma_min (sampling.edm_sigma_*, clamped to the SDE's range
// [sigma(eps), sigma(T)], as for EDM's Heun), spaced uniformly in time, in lambda (logSNR) or on
// EDM's rho-schedule. A multistep solver costs one network call per step; with
// sampling.noise_removal the last call returns D(y; sigma(eps)) (Tweedie's denoising). So
// sampling.nfe calls make nfe - 1 steps (noise removal) or nfe steps, exactly.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "eval/sample_noise.h"
#include "trainer/core/keys.h"
#include "trainer/sde/sde.h"

namespace sgm::eval {

struct MultistepOptions {
  std::int64_t nfe = 20;
  std::string schedule = "logsnr";  // logsnr | time_uniform | edm (rho = sampling.edm_rho)
  bool lower_order_final = true;    // fewer than 15 steps: the last steps drop their order

  void declare_keys(core::Keys& k) {
    k("sampling.nfe", nfe,
      "network calls of the few-step ODE solvers (dpmpp_*, unipc*), the final denoising "
      "(sampling.noise_removal) included");
    k("sampling.schedule", schedule,
      "noise levels of the few-step solvers: logsnr | time_uniform | edm (sampling.edm_rho)");
    k("sampling.lower_order_final", lower_order_final,
      "few-step solvers: below 15 steps, the last steps use lower orders (DPM-Solver's rule)");
  }
};

// The schedule names, for --help and validation.
const std::vector<std::string>& multistep_schedules();

// The solver's grid: steps + 1 times and their noise levels sigma(t), from
// min(sigma_max, sigma(T)) down to max(sigma_min, sigma(eps)).
struct NoiseGrid {
  std::vector<double> t;
  std::vector<double> sigma;
};
NoiseGrid noise_grid(const sde::SDE& sde, double eps, std::int64_t steps,
                     const std::string& schedule, double rho, double sigma_min, double sigma_max);

enum class MultistepMethod { kDpmSolverPP, kUniPC };

struct MultistepSolve {
  MultistepMethod method = MultistepMethod::kDpmSolverPP;
  std::int64_t order = 2;  // 1 (DDIM), 2 or 3
  std::int64_t steps = 20;
  std::string schedule = "logsnr";
  double rho = 7;
  double sigma_min = 0;  // the range, clamped to the SDE's [sigma(eps), sigma(T)]
  double sigma_max = std::numeric_limits<double>::infinity();
  bool lower_order_final = true;
  bool denoise = true;  // finish with D(y; sigma(eps)): one more network call
};

struct MultistepResult {
  at::Tensor x;  // [B, ...] float32, in data space (m(eps) y, or D with `denoise`)
  std::int64_t nfe = 0;
};

// The start comes from noise.normal(kPrior, 0): through the SDE's prior_sampling when the range
// starts at T (as the RK45 sampler draws it, so both solve the same ODE from the same start),
// scaled by sigma_max otherwise (as EDM's Heun).
MultistepResult multistep_solve(const sde::SDE& sde, const sde::ScoreFn& score,
                                const SampleNoise& noise, double eps, const MultistepSolve& solve,
                                const at::Device& device);

}  // namespace sgm::eval
