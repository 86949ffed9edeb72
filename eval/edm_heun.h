// EDM's Heun sampler (Karras et al. 2022, arXiv 2206.00364, Algorithm 2; NVlabs/edm generate.py
// edm_sampler) for our SDEs, as the fast option of the probability-flow ODE. An
// SDE with mean coefficient m(t) and std s(t) is EDM's x = m(t) (y + sigma n) with noise level
// sigma(t) = s(t) / m(t); the sampler integrates dy/dsigma = (y - D(y; sigma)) / sigma in y,
// with the denoiser D(y; sigma) = y + sigma^2 m s_theta(m y, t(sigma)) from our score function,
// on EDM's rho-schedule of noise levels ending at 0. Computed in float64 (the network in
// float32). Optional churn (S_churn, S_min, S_max, S_noise) makes it stochastic, per sample.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>

#include "eval/sample_noise.h"
#include "trainer/core/keys.h"
#include "trainer/sde/sde.h"

namespace sgm::eval {

struct EdmOptions {
  std::int64_t steps = 18;  // N: NFE 2N - 1
  double rho = 7;
  double sigma_min = 0.002;  // clamped to the SDE's range [sigma(eps), sigma(T)]
  double sigma_max = 80;
  double churn = 0;  // S_churn (0: deterministic)
  double s_min = 0;
  double s_max = std::numeric_limits<double>::infinity();
  double s_noise = 1;

  void declare_keys(core::Keys& k) {
    k("sampling.edm_steps", steps, "EDM Heun: noise levels N (NFE 2N - 1)");
    k("sampling.edm_rho", rho, "EDM Heun and the few-step solvers' edm schedule: exponent rho");
    k("sampling.edm_sigma_min", sigma_min,
      "EDM Heun and the few-step solvers: smallest noise level (raised to the SDE's level at "
      "sampling.eps)");
    k("sampling.edm_sigma_max", sigma_max,
      "EDM Heun and the few-step solvers: largest noise level (lowered to the SDE's level at T)");
    k("sampling.edm_churn", churn, "EDM Heun: S_churn (0: deterministic)");
    k("sampling.edm_s_min", s_min, "EDM Heun: churn only at noise >= S_min");
    k("sampling.edm_s_max", s_max, "EDM Heun: churn only at noise <= S_max");
    k("sampling.edm_s_noise", s_noise, "EDM Heun: S_noise (churn noise scale)");
  }
};

// EDM's noise levels (sigma_max^(1/rho) + i/(N-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho
// for i < N, then 0: N + 1 values.
std::vector<double> edm_sigmas(double sigma_min, double sigma_max, std::int64_t steps, double rho);

// sigma(t) = std(t) / mean coefficient(t) of the SDE's perturbation kernel, and its inverse
// (bisection; sigma(t) increases with t).
double noise_level(const sde::SDE& sde, double t);
double mean_coefficient(const sde::SDE& sde, double t);  // m(t)

// [sigma_min, sigma_max] clamped to the SDE's noise levels [sigma(eps), sigma(T)], the range of
// every EDM-form solver; a core::UsageError naming sampling.edm_sigma_min/max when empty.
struct NoiseRange {
  double lo = 0, hi = 0;
  double sigma_eps = 0, sigma_T = 0;  // the SDE's own ends
};
NoiseRange noise_range(const sde::SDE& sde, double eps, double sigma_min, double sigma_max);
double time_of_noise_level(const sde::SDE& sde, double sigma);

struct EdmResult {
  at::Tensor x;  // [B, ...] float32 samples in data space
  std::int64_t nfe = 0;
};

// Draws from noise.normal(kPrior, 0) (scaled by the first sigma) and, with churn, the sampler
// stream. `eps` bounds the smallest noise level as the sampler's last time does.
EdmResult edm_heun(const sde::SDE& sde, const sde::ScoreFn& score, SampleNoise& noise, double eps,
                   const EdmOptions& options, const at::Device& device);

}  // namespace sgm::eval
