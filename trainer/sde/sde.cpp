#define TORCH_ASSERT_ONLY_METHOD_OPERATORS
#include "trainer/sde/sde.h"

#include <cmath>
#include <vector>

#include <ATen/ops/zeros_like.h>

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

ReverseSDE::ReverseSDE(std::shared_ptr<const SDE> forward, ScoreFn score, bool probability_flow)
    : forward_(std::move(forward)), score_(std::move(score)), probability_flow_(probability_flow) {}

DriftDiffusion ReverseSDE::sde(const at::Tensor& x, const at::Tensor& t) const {
  DriftDiffusion d = forward_->sde(x, t);
  const double w = probability_flow_ ? 0.5 : 1.0;
  at::Tensor g2 = batch_view(d.diffusion.square(), x);
  at::Tensor drift = d.drift.sub(g2.mul(score_(x, t)).mul(w));
  at::Tensor diffusion = probability_flow_ ? at::zeros_like(d.diffusion) : d.diffusion;
  return {drift, diffusion};
}

DriftDiffusion ReverseSDE::discretize(const at::Tensor& x, const at::Tensor& t) const {
  DriftDiffusion d = forward_->discretize(x, t);
  const double w = probability_flow_ ? 0.5 : 1.0;
  at::Tensor g2 = batch_view(d.diffusion.square(), x);
  at::Tensor rev_f = d.drift.sub(g2.mul(score_(x, t)).mul(w));
  at::Tensor rev_g = probability_flow_ ? at::zeros_like(d.diffusion) : d.diffusion;
  return {rev_f, rev_g};
}

}  // namespace sgm::sde
