#define TORCH_ASSERT_ONLY_METHOD_OPERATORS
#include "trainer/sde/sde.h"

#include <cmath>
#include <vector>

#include <ATen/ops/zeros_like.h>

#include "trainer/core/error.h"

namespace sgm::sde {

at::Tensor batch_view(const at::Tensor& v, const at::Tensor& x) {
  std::vector<std::int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
  shape[0] = v.size(0);
  return v.reshape(shape);
}

at::Tensor sum_except_batch(const at::Tensor& x) { return x.reshape({x.size(0), -1}).sum(1); }

std::int64_t per_sample_dim(const at::Tensor& x) { return x.numel() / x.size(0); }

DriftDiffusion SDE::discretize(const at::Tensor& x, const at::Tensor& t) const {
  const double dt = 1.0 / static_cast<double>(N_);
  DriftDiffusion d = sde(x, t);
  return {d.drift.mul(dt), d.diffusion.mul(std::sqrt(dt))};
}

std::shared_ptr<ReverseSDE> SDE::reverse(ScoreFn score, bool probability_flow) const {
  return std::make_shared<ReverseSDE>(shared_from_this(), std::move(score), probability_flow);
}

at::Tensor SDE::noise_std(const at::Tensor& x, const at::Tensor& t, const at::Tensor&, bool) const {
  return marginal_prob(at::zeros_like(x), t).std;
}

at::Tensor SDE::timestep(const at::Tensor& t) const {
  return t.mul(static_cast<double>(N() - 1)).div(T()).to(at::kLong);
}

at::Tensor SDE::corrector_alpha(const at::Tensor&) const {
  throw core::Error("corrector_alpha: this SDE has no discrete form");
}

MeanStd SDE::ancestral_step(const at::Tensor&, const at::Tensor&, const at::Tensor&) const {
  throw core::Error("ancestral_step: this SDE has no discrete form");
}

at::Tensor SDE::discrete_loss(const ModelFn&, const at::Tensor&, const at::Tensor&,
                              const at::Tensor&, bool) const {
  throw core::Error("discrete_loss: this SDE has no discrete form");
}

ReverseSDE::ReverseSDE(std::shared_ptr<const SDE> forward, ScoreFn score, bool probability_flow)
    : forward_(std::move(forward)), score_(std::move(score)), probability_flow_(probability_flow) {}

namespace {

// (f - g^2 s w, g or 0) with w = 1/2 for the probability flow, for either (f, g) or (f_i, G_i).
DriftDiffusion reversed(const DriftDiffusion& d, const at::Tensor& score, const at::Tensor& x,
                        bool probability_flow) {
  const double w = probability_flow ? 0.5 : 1.0;
  at::Tensor drift = d.drift.sub(batch_view(d.diffusion.square(), x).mul(score).mul(w));
  return {drift, probability_flow ? at::zeros_like(d.diffusion) : d.diffusion};
}

}  // namespace

DriftDiffusion ReverseSDE::sde(const at::Tensor& x, const at::Tensor& t) const {
  return reversed(forward_->sde(x, t), score_(x, t), x, probability_flow_);
}

DriftDiffusion ReverseSDE::discretize(const at::Tensor& x, const at::Tensor& t) const {
  return reversed(forward_->discretize(x, t), score_(x, t), x, probability_flow_);
}

}  // namespace sgm::sde
