// VP SDE (DDPM in continuous time) and sub-VP SDE (Song et al. 2021, eqs. 11 and 29):
//   VP:    dx = -1/2 beta(t) x dt + sqrt(beta(t)) dw
//   subVP: dx = -1/2 beta(t) x dt + sqrt(beta(t) (1 - exp(-2 int_0^t beta))) dw
// with beta(t) = beta_min + t (beta_max - beta_min). score_sde: sde_lib.py VPSDE, subVPSDE.
#pragma once

#include "trainer/sde/sde.h"

namespace sgm::sde {

class VPSDE : public SDE {
 public:
  VPSDE(double beta_min, double beta_max, std::int64_t N);

  DriftDiffusion sde(const at::Tensor& x, const at::Tensor& t) const override;
  MeanStd marginal_prob(const at::Tensor& x, const at::Tensor& t) const override;
  at::Tensor prior_sampling(const at::Tensor& z) const override;
  at::Tensor prior_logp(const at::Tensor& z) const override;
  // DDPM form: f_i = (sqrt(alpha_i) - 1) x, G_i = sqrt(beta_i), i = floor(t (N-1) / T).
  DriftDiffusion discretize(const at::Tensor& x, const at::Tensor& t) const override;

  at::Tensor network_labels(const at::Tensor& t, bool continuous) const override;
  // Continuous: the marginal std; discrete: sqrt(1 - alphas_cumprod) at the label.
  at::Tensor noise_std(const at::Tensor& x, const at::Tensor& t, const at::Tensor& labels,
                       bool continuous) const override;
  bool has_discrete_form() const override { return true; }
  at::Tensor corrector_alpha(const at::Tensor& t) const override;  // alphas[i]
  // DDPM's: mean (x + beta_i s) / sqrt(1 - beta_i), std sqrt(beta_i).
  MeanStd ancestral_step(const at::Tensor& x, const at::Tensor& t,
                         const at::Tensor& score) const override;
  at::Tensor discrete_loss(const ModelFn& net, const at::Tensor& x0, const at::Tensor& labels,
                           const at::Tensor& z, bool reduce_mean) const override;  // DDPM

  double beta_0() const { return beta_0_; }
  double beta_1() const { return beta_1_; }
  // Discrete DDPM arrays [N] (float32, as the reference): beta_i = linspace(b0/N, b1/N, N)[i].
  const at::Tensor& discrete_betas() const { return discrete_betas_; }
  const at::Tensor& alphas() const { return alphas_; }
  const at::Tensor& alphas_cumprod() const { return alphas_cumprod_; }
  const at::Tensor& sqrt_alphas_cumprod() const { return sqrt_alphas_cumprod_; }
  const at::Tensor& sqrt_1m_alphas_cumprod() const { return sqrt_1m_alphas_cumprod_; }

  // log of the mean coefficient: L(t) = -t^2 (b1 - b0)/4 - t b0/2.
  at::Tensor log_mean_coeff(const at::Tensor& t) const;

 private:
  double beta_0_;
  double beta_1_;
  at::Tensor discrete_betas_, alphas_, alphas_cumprod_, sqrt_alphas_cumprod_,
      sqrt_1m_alphas_cumprod_;
};

class SubVPSDE : public SDE {
 public:
  SubVPSDE(double beta_min, double beta_max, std::int64_t N);

  DriftDiffusion sde(const at::Tensor& x, const at::Tensor& t) const override;
  // std = 1 - exp(2 L(t)) (the variance is its square).
  MeanStd marginal_prob(const at::Tensor& x, const at::Tensor& t) const override;
  at::Tensor prior_sampling(const at::Tensor& z) const override;
  at::Tensor prior_logp(const at::Tensor& z) const override;
  // No discrete form in the reference: the base Euler-Maruyama discretisation.
  // 999 t, continuous or not (the reference's labels for sub-VP).
  at::Tensor network_labels(const at::Tensor& t, bool continuous) const override;

  double beta_0() const { return beta_0_; }
  double beta_1() const { return beta_1_; }

 private:
  double beta_0_;
  double beta_1_;
};

// log N(z; 0, I) per sample: -D/2 log(2 pi) - |z|^2 / 2.
at::Tensor standard_normal_logp(const at::Tensor& z);

}  // namespace sgm::sde
