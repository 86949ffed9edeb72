// Likelihood through the probability-flow ODE (score_sde_pytorch likelihood.py):
// integrate [x, delta log p] from eps to T with RK45, the divergence of the drift by
// Hutchinson-Skilling (Rademacher or Gaussian probes, one per solve as the reference or K
// averaged) or exactly (small dimension); then bits/dim = -(prior_logp(z) + delta log p) /
// (D ln 2) + offset. Step control is per sample, so a sample's value does not depend on its batch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trainer/core/keys.h"
#include "trainer/sde/sde.h"

namespace sgm::eval {

struct LikelihoodOptions {
  double rtol = 1e-5;
  double atol = 1e-5;
  double eps = 1e-5;                      // start time (the reference's 1e-5 for every SDE)
  std::string divergence = "rademacher";  // rademacher | gaussian | exact
  std::int64_t probes = 1;                // Hutchinson probes averaged per evaluation

  void declare_keys(core::Keys& k) {
    k("eval.bpd_rtol", rtol, "RK45 relative tolerance of the likelihood ODE");
    k("eval.bpd_atol", atol, "RK45 absolute tolerance of the likelihood ODE");
    k("eval.bpd_eps", eps, "start time of the likelihood ODE");
    k("eval.bpd_divergence", divergence,
      "rademacher | gaussian (Hutchinson-Skilling) | exact (small dimension)");
    k("eval.bpd_probes", probes, "Hutchinson probes averaged per evaluation");
  }
};

void validate(const LikelihoodOptions& options);

struct Likelihood {
  at::Tensor bpd;                 // [B] float64 bits/dim
  at::Tensor prior_logp;          // [B] log prior density of z = x(T)
  at::Tensor delta_logp;          // [B] integral of the divergence
  at::Tensor z;                   // [B, ...] x(T)
  std::vector<std::int64_t> nfe;  // ODE function evaluations per sample (scipy's nfev)
};

// x: [B, C, H, W] data in the model's space (scaled; dequantised by the caller). `indices` [B]
// and `round` key the probes (round = pass number, so each pass gets fresh probes). offset: 7 for
// data centred to [-1, 1], 8 for [0, 1] (score_sde: 7 - inverse_scaler(-1)).
Likelihood likelihood(std::shared_ptr<const sde::SDE> sde, const sde::ScoreFn& score,
                      const at::Tensor& x, const at::Tensor& indices, std::int64_t round,
                      std::uint64_t seed, const LikelihoodOptions& options, double offset);

}  // namespace sgm::eval
