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

  at::Tensor network_labels(const at::Tensor& t, bool continuous) const override;
  // Undefined: the VE networks output the score itself.
  at::Tensor noise_std(const at::Tensor& x, const at::Tensor& t, const at::Tensor& labels,
                       bool continuous) const override;
  double default_sampling_eps() const override { return 1e-5; }
  bool has_discrete_form() const override { return true; }
  at::Tensor corrector_alpha(const at::Tensor& t) const override;  // 1
  // SMLD's: mean x + (sigma_i^2 - sigma_{i-1}^2) s, std sqrt(sigma_{i-1}^2 gap / sigma_i^2).
  MeanStd ancestral_step(const at::Tensor& x, const at::Tensor& t,
                         const at::Tensor& score) const override;
  at::Tensor discrete_loss(const ModelFn& net, const at::Tensor& x0, const at::Tensor& labels,
                           const at::Tensor& z, bool reduce_mean) const override;  // SMLD

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
