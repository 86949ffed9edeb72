// Score-matching objectives. Each takes its noise and times explicitly and returns the
// per-example loss [B] (the training loss is its batch mean), so it can be checked against
// fixtures and computed identically on any rank.
//   sde_loss:  continuous-time DSM of Song et al. 2021 (score_sde losses.py::get_sde_loss_fn)
//   smld_loss: discrete SMLD (NCSN) loss, VE only (get_smld_loss_fn)
//   ddpm_loss: discrete DDPM epsilon loss, VP only (get_ddpm_loss_fn)
//   implicit_score_matching: Hyvarinen 2005, the trace of the score's Jacobian computed exactly
//   sliced_score_matching: Song, Garg, Shi, Ermon 2019 (arXiv 1905.07088)
//   denoising_score_matching: Vincent 2011, one noise level
#pragma once

#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trainer/sde/score_fn.h"
#include "trainer/sde/sde.h"
#include "trainer/sde/vesde.h"
#include "trainer/sde/vpsde.h"

namespace sgm::sde {

// t = u (T - eps) + eps for u ~ U[0, 1) [B]; eps = 1e-5 in training.
at::Tensor training_time(const at::Tensor& u, const SDE& sde, double eps = 1e-5);

// R: mean over the D elements of each sample if reduce_mean, else 0.5 * sum. [B, ...] -> [B]
at::Tensor reduce_per_example(const at::Tensor& x, bool reduce_mean);

// x_t = mean(x0, t) + std(t) z;  s = score(x_t, t);
//   likelihood_weighting false: R[(s std + z)^2]      (lambda(t) = std^2)
//   likelihood_weighting true:  R[(s + z / std)^2] g(t)^2
at::Tensor sde_loss(const SDE& sde, const ScoreFn& score, const at::Tensor& x0, const at::Tensor& t,
                    const at::Tensor& z, bool reduce_mean, bool likelihood_weighting);

// labels [B] int64 in [0, N): sigma = descending sigmas[label]; x~ = x0 + sigma z;
// R[(net(x~, label) + z / sigma)^2] sigma^2.
at::Tensor smld_loss(const VESDE& sde, const ModelFn& net, const at::Tensor& x0, const at::Tensor& labels,
                     const at::Tensor& z, bool reduce_mean);

// x~ = sqrt(alphabar) x0 + sqrt(1 - alphabar) z; R[(net(x~, label) - z)^2].
at::Tensor ddpm_loss(const VPSDE& sde, const ModelFn& net, const at::Tensor& x0, const at::Tensor& labels,
                     const at::Tensor& z, bool reduce_mean);

// s: a score of x alone. Per example: v^T (ds/dx) v + 1/2 (v^T s)^2, or with variance_reduced
// 1/2 |s|^2 for the second term. v [B, ...]: Rademacher or Gaussian probes (E v v^T = I).
// Differentiable (create_graph) so it can be minimised.
at::Tensor sliced_score_matching(const std::function<at::Tensor(const at::Tensor&)>& s, const at::Tensor& x,
                                 const at::Tensor& v, bool variance_reduced = false);

// As above with K probes per example (each [B, ...]): the mean over the probes of the first term
// (and of the second, unless variance_reduced), from one evaluation of s and K vector-Jacobian
// products.
at::Tensor sliced_score_matching(const std::function<at::Tensor(const at::Tensor&)>& s, const at::Tensor& x,
                                 const std::vector<at::Tensor>& probes, bool variance_reduced);

// s: a score of x alone. Per example: tr(ds/dx) + 1/2 |s|^2, the trace exact: one vector-Jacobian
// product per dimension (D of them), so only for low-dimensional data. Differentiable
// (create_graph). Its expectation is the explicit objective 1/2 E|s - grad log p|^2 less the
// constant 1/2 E|grad log p|^2 (integration by parts).
at::Tensor implicit_score_matching(const std::function<at::Tensor(const at::Tensor&)>& s, const at::Tensor& x);

// Per example: 1/2 |s(x + sigma z) + z / sigma|^2 (the score of the Gaussian kernel is
// -(x~ - x)/sigma^2 = -z/sigma).
at::Tensor denoising_score_matching(const std::function<at::Tensor(const at::Tensor&)>& s, const at::Tensor& x,
                                    const at::Tensor& z, double sigma);

}  // namespace sgm::sde
