#define TORCH_ASSERT_ONLY_METHOD_OPERATORS
#include "trainer/sde/vpsde.h"

#include <cmath>

#include <ATen/ops/linspace.h>
#include <ATen/ops/where.h>

#include "trainer/sde/losses.h"

namespace sgm::sde {
namespace {

at::Tensor beta_of_t(const at::Tensor& t, double b0, double b1) { return t.mul(b1 - b0).add(b0); }

at::Tensor vp_log_mean_coeff(const at::Tensor& t, double b0, double b1) {
  return t.square().mul(-0.25 * (b1 - b0)).sub(t.mul(0.5 * b0));
}

}  // namespace

at::Tensor standard_normal_logp(const at::Tensor& z) {
  const double D = static_cast<double>(per_sample_dim(z));
  return sum_except_batch(z.square()).mul(-0.5).sub(D / 2.0 * std::log(2.0 * M_PI));
}

VPSDE::VPSDE(double beta_min, double beta_max, std::int64_t N)
    : SDE(N), beta_0_(beta_min), beta_1_(beta_max) {
  const double n = static_cast<double>(N);
  discrete_betas_ = at::linspace(beta_min / n, beta_max / n, N, at::kFloat);
  alphas_ = discrete_betas_.neg().add(1.0);
  alphas_cumprod_ = alphas_.cumprod(0);
  sqrt_alphas_cumprod_ = alphas_cumprod_.sqrt();
  sqrt_1m_alphas_cumprod_ = alphas_cumprod_.neg().add(1.0).sqrt();
}

at::Tensor VPSDE::log_mean_coeff(const at::Tensor& t) const {
  return vp_log_mean_coeff(t, beta_0_, beta_1_);
}

DriftDiffusion VPSDE::sde(const at::Tensor& x, const at::Tensor& t) const {
  at::Tensor beta_t = beta_of_t(t, beta_0_, beta_1_);
  return {batch_view(beta_t, x).mul(x).mul(-0.5), beta_t.sqrt()};
}

MeanStd VPSDE::marginal_prob(const at::Tensor& x, const at::Tensor& t) const {
  at::Tensor lmc = log_mean_coeff(t);
  return {batch_view(lmc.exp(), x).mul(x), lmc.mul(2.0).exp().neg().add(1.0).sqrt()};
}

at::Tensor VPSDE::prior_sampling(const at::Tensor& z) const { return z; }

at::Tensor VPSDE::prior_logp(const at::Tensor& z) const { return standard_normal_logp(z); }

DriftDiffusion VPSDE::discretize(const at::Tensor& x, const at::Tensor& t) const {
  at::Tensor i =
      t.mul(static_cast<double>(N() - 1) / T()).to(at::kLong).to(discrete_betas_.device());
  at::Tensor beta = discrete_betas_.index_select(0, i).to(x.device());
  at::Tensor alpha = alphas_.index_select(0, i).to(x.device());
  at::Tensor f = batch_view(alpha.sqrt(), x).mul(x).sub(x);
  return {f, beta.sqrt()};
}

SubVPSDE::SubVPSDE(double beta_min, double beta_max, std::int64_t N)
    : SDE(N), beta_0_(beta_min), beta_1_(beta_max) {}

DriftDiffusion SubVPSDE::sde(const at::Tensor& x, const at::Tensor& t) const {
  at::Tensor beta_t = beta_of_t(t, beta_0_, beta_1_);
  at::Tensor discount =
      t.mul(-2.0 * beta_0_).sub(t.square().mul(beta_1_ - beta_0_)).exp().neg().add(1.0);
  return {batch_view(beta_t, x).mul(x).mul(-0.5), beta_t.mul(discount).sqrt()};
}

MeanStd SubVPSDE::marginal_prob(const at::Tensor& x, const at::Tensor& t) const {
  at::Tensor lmc = vp_log_mean_coeff(t, beta_0_, beta_1_);
  return {batch_view(lmc.exp(), x).mul(x), lmc.mul(2.0).exp().neg().add(1.0)};
}

at::Tensor SubVPSDE::prior_sampling(const at::Tensor& z) const { return z; }

at::Tensor SubVPSDE::prior_logp(const at::Tensor& z) const { return standard_normal_logp(z); }

at::Tensor VPSDE::network_labels(const at::Tensor& t, bool continuous) const {
  return continuous ? t.mul(999.0) : t.mul(static_cast<double>(N() - 1));
}

at::Tensor VPSDE::noise_std(const at::Tensor& x, const at::Tensor& t, const at::Tensor& labels,
                            bool continuous) const {
  if (continuous) return SDE::noise_std(x, t, labels, continuous);
  const at::Tensor i = labels.to(at::kLong).to(sqrt_1m_alphas_cumprod_.device());
  return sqrt_1m_alphas_cumprod_.index_select(0, i).to(x.device());
}

at::Tensor VPSDE::corrector_alpha(const at::Tensor& t) const {
  return alphas_.to(t.device()).index_select(0, timestep(t));
}

MeanStd VPSDE::ancestral_step(const at::Tensor& x, const at::Tensor& t,
                              const at::Tensor& score) const {
  const at::Tensor beta = discrete_betas_.to(x.device()).index_select(0, timestep(t));
  const at::Tensor b = batch_view(beta, x);
  return {x.add(b.mul(score)).div(b.neg().add(1).sqrt()), beta.sqrt()};
}

at::Tensor VPSDE::discrete_loss(const ModelFn& net, const at::Tensor& x0, const at::Tensor& labels,
                                const at::Tensor& z, bool reduce_mean) const {
  return ddpm_loss(*this, net, x0, labels, z, reduce_mean);
}

at::Tensor SubVPSDE::network_labels(const at::Tensor& t, bool) const { return t.mul(999.0); }

}  // namespace sgm::sde
