#define TORCH_ASSERT_ONLY_METHOD_OPERATORS
#include "trainer/sde/vesde.h"

#include <cmath>

#include <ATen/ops/linspace.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/pow.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros_like.h>

#include "trainer/sde/losses.h"

namespace sgm::sde {

VESDE::VESDE(double sigma_min, double sigma_max, std::int64_t N)
    : SDE(N), sigma_min_(sigma_min), sigma_max_(sigma_max) {
  discrete_sigmas_ = at::linspace(std::log(sigma_min), std::log(sigma_max), N, at::kFloat).exp();
}

at::Tensor VESDE::sigma(const at::Tensor& t) const {
  // sigma_min * (sigma_max / sigma_min)^t, computed as the reference does (a float tensor power).
  return at::pow(sigma_max_ / sigma_min_, t).mul(sigma_min_);
}

DriftDiffusion VESDE::sde(const at::Tensor& x, const at::Tensor& t) const {
  at::Tensor diffusion =
      sigma(t).mul(std::sqrt(2.0 * (std::log(sigma_max_) - std::log(sigma_min_))));
  return {at::zeros_like(x), diffusion};
}

MeanStd VESDE::marginal_prob(const at::Tensor& x, const at::Tensor& t) const {
  return {x, sigma(t)};
}

at::Tensor VESDE::prior_sampling(const at::Tensor& z) const { return z.mul(sigma_max_); }

at::Tensor VESDE::prior_logp(const at::Tensor& z) const {
  const double D = static_cast<double>(per_sample_dim(z));
  return sum_except_batch(z.square())
      .div(-2.0 * sigma_max_ * sigma_max_)
      .sub(D / 2.0 * std::log(2.0 * M_PI * sigma_max_ * sigma_max_));
}

DriftDiffusion VESDE::discretize(const at::Tensor& x, const at::Tensor& t) const {
  at::Tensor i =
      t.mul(static_cast<double>(N() - 1) / T()).to(at::kLong).to(discrete_sigmas_.device());
  at::Tensor s = discrete_sigmas_.index_select(0, i);
  at::Tensor prev = at::where(i.eq(0), at::zeros_like(s),
                              discrete_sigmas_.index_select(0, i.sub(1).clamp_min(0)));
  at::Tensor G = s.square().sub(prev.square()).sqrt().to(x.device());
  return {at::zeros_like(x), G};
}

at::Tensor VESDE::network_labels(const at::Tensor& t, bool continuous) const {
  if (continuous) return marginal_prob(t, t).std;
  return t.neg().add(T()).mul(static_cast<double>(N() - 1)).round().to(at::kLong);
}

at::Tensor VESDE::noise_std(const at::Tensor&, const at::Tensor&, const at::Tensor&, bool) const {
  return {};
}

at::Tensor VESDE::corrector_alpha(const at::Tensor& t) const { return at::ones_like(t); }

MeanStd VESDE::ancestral_step(const at::Tensor& x, const at::Tensor& t,
                              const at::Tensor& score) const {
  const at::Tensor step = timestep(t);
  const at::Tensor sigmas = discrete_sigmas().to(x.device());
  const at::Tensor sigma = sigmas.index_select(0, step);
  const at::Tensor previous = at::where(step.eq(0), at::zeros_like(sigma),
                                        sigmas.index_select(0, step.sub(1).clamp_min(0)));
  const at::Tensor gap = sigma.square().sub(previous.square());
  return {x.add(score.mul(batch_view(gap, x))),
          previous.square().mul(gap).div(sigma.square()).sqrt()};
}

at::Tensor VESDE::discrete_loss(const ModelFn& net, const at::Tensor& x0, const at::Tensor& labels,
                                const at::Tensor& z, bool reduce_mean) const {
  return smld_loss(*this, net, x0, labels, z, reduce_mean);
}

}  // namespace sgm::sde
