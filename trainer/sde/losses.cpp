#define TORCH_ASSERT_ONLY_METHOD_OPERATORS
#include "trainer/sde/losses.h"

#include <torch/csrc/autograd/autograd.h>

#include <ATen/ops/zeros_like.h>

namespace sgm::sde {

at::Tensor training_time(const at::Tensor& u, const SDE& sde, double eps) { return u.mul(sde.T() - eps).add(eps); }

at::Tensor reduce_per_example(const at::Tensor& x, bool reduce_mean) {
  at::Tensor flat = x.reshape({x.size(0), -1});
  return reduce_mean ? flat.mean(-1) : flat.sum(-1).mul(0.5);
}

at::Tensor sde_loss(const SDE& sde, const ScoreFn& score, const at::Tensor& x0, const at::Tensor& t,
                    const at::Tensor& z, bool reduce_mean, bool likelihood_weighting) {
  MeanStd m = sde.marginal_prob(x0, t);
  at::Tensor std = batch_view(m.std, x0);
  at::Tensor perturbed = m.mean.add(std.mul(z));
  at::Tensor s = score(perturbed, t);
  if (!likelihood_weighting) return reduce_per_example(s.mul(std).add(z).square(), reduce_mean);
  at::Tensor g2 = sde.sde(at::zeros_like(x0), t).diffusion.square();
  return reduce_per_example(s.add(z.div(std)).square(), reduce_mean).mul(g2);
}

at::Tensor smld_loss(const VESDE& sde, const ModelFn& net, const at::Tensor& x0, const at::Tensor& labels,
                     const at::Tensor& z, bool reduce_mean) {
  at::Tensor descending = sde.discrete_sigmas().flip({0});
  at::Tensor sigmas = descending.index_select(0, labels.to(descending.device())).to(x0.device());
  at::Tensor sigma = batch_view(sigmas, x0);
  at::Tensor noise = z.mul(sigma);
  at::Tensor s = net(x0.add(noise), labels);
  at::Tensor target = noise.neg().div(sigma.square());
  return reduce_per_example(s.sub(target).square(), reduce_mean).mul(sigmas.square());
}

at::Tensor ddpm_loss(const VPSDE& sde, const ModelFn& net, const at::Tensor& x0, const at::Tensor& labels,
                     const at::Tensor& z, bool reduce_mean) {
  at::Tensor i = labels.to(sde.sqrt_alphas_cumprod().device());
  at::Tensor a = batch_view(sde.sqrt_alphas_cumprod().index_select(0, i).to(x0.device()), x0);
  at::Tensor b = batch_view(sde.sqrt_1m_alphas_cumprod().index_select(0, i).to(x0.device()), x0);
  at::Tensor s = net(a.mul(x0).add(b.mul(z)), labels);
  return reduce_per_example(s.sub(z).square(), reduce_mean);
}

at::Tensor sliced_score_matching(const std::function<at::Tensor(const at::Tensor&)>& s, const at::Tensor& x,
                                 const at::Tensor& v, bool variance_reduced) {
  return sliced_score_matching(s, x, std::vector<at::Tensor>{v}, variance_reduced);
}

at::Tensor sliced_score_matching(const std::function<at::Tensor(const at::Tensor&)>& s, const at::Tensor& x,
                                 const std::vector<at::Tensor>& probes, bool variance_reduced) {
  at::Tensor xg = x.detach().requires_grad_(true);
  at::Tensor score = s(xg);
  at::Tensor first;
  at::Tensor second = variance_reduced ? sum_except_batch(score.square()).mul(0.5) : at::Tensor();
  for (const at::Tensor& v : probes) {
    at::Tensor sv = sum_except_batch(score.mul(v));
    // One vector-Jacobian product: d(v^T s)/dx, then dotted with v gives v^T (ds/dx) v.
    at::Tensor grad = torch::autograd::grad({sv.sum()}, {xg}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
    at::Tensor vjv = sum_except_batch(grad.mul(v));
    first = first.defined() ? first.add(vjv) : vjv;
    if (!variance_reduced) {
      at::Tensor half_sq = sv.square().mul(0.5);
      second = second.defined() ? second.add(half_sq) : half_sq;
    }
  }
  const double k = static_cast<double>(probes.size());
  if (probes.size() > 1) {
    first = first.div(k);
    if (!variance_reduced) second = second.div(k);
  }
  return first.add(second);
}

at::Tensor implicit_score_matching(const std::function<at::Tensor(const at::Tensor&)>& s, const at::Tensor& x) {
  at::Tensor xg = x.detach().requires_grad_(true);
  at::Tensor score = s(xg);
  const std::int64_t batch = x.size(0);
  at::Tensor flat = score.reshape({batch, -1});
  at::Tensor trace;
  for (std::int64_t d = 0; d < flat.size(1); ++d) {
    // Row d of every example's Jacobian at once (examples are independent): d s_d / dx, of
    // which the diagonal element d is kept.
    at::Tensor row = torch::autograd::grad({flat.select(1, d).sum()}, {xg}, {}, /*retain_graph=*/true,
                                           /*create_graph=*/true)[0];
    at::Tensor diagonal = row.reshape({batch, -1}).select(1, d);
    trace = trace.defined() ? trace.add(diagonal) : diagonal;
  }
  return trace.add(flat.square().sum(1).mul(0.5));
}

at::Tensor denoising_score_matching(const std::function<at::Tensor(const at::Tensor&)>& s, const at::Tensor& x,
                                    const at::Tensor& z, double sigma) {
  at::Tensor score = s(x.add(z.mul(sigma)));
  return sum_except_batch(score.add(z.div(sigma)).square()).mul(0.5);
}

}  // namespace sgm::sde
