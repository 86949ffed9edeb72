// VE SDE (SMLD in continuous time; Song et al. 2021, eq. 9): dx = sqrt(d sigma^2(t)/dt) dw with
// sigma(t) = sigma_min (sigma_max / sigma_min)^t. score_sde: sde_lib.py VESDE.
#pragma once

#include "trainer/sde/sde.h"

namespace sgm::sde {

class VESDE : public SDE {
 public:
  VESDE(double sigma_min, double sigma_max, std::int64_t N);

  DriftDiffusion sde(const at::Tensor& x, const at::Tensor& t) const override;
  // mean = x, std = sigma(t) (the reference ignores the -sigma_min^2 of the exact variance).
  MeanStd marginal_prob(const at::Tensor& x, const at::Tensor& t) const override;
  at::Tensor prior_sampling(const at::Tensor& z) const override;
  at::Tensor prior_logp(const at::Tensor& z) const override;
  // SMLD form: f_i = 0, G_i = sqrt(sigma_i^2 - sigma_{i-1}^2), sigma_{-1} = 0.
  DriftDiffusion discretize(const at::Tensor& x, const at::Tensor& t) const override;

  double sigma_min() const { return sigma_min_; }
  double sigma_max() const { return sigma_max_; }
  // exp(linspace(ln sigma_min, ln sigma_max, N)), ascending, float32 as the reference.
  const at::Tensor& discrete_sigmas() const { return discrete_sigmas_; }
  at::Tensor sigma(const at::Tensor& t) const;

 private:
  double sigma_min_;
  double sigma_max_;
  at::Tensor discrete_sigmas_;
};

}  // namespace sgm::sde
