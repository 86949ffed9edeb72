// SDE interface of Song et al. 2021 (arXiv 2011.13456 §3.4, App. B), named as score_sde's
// sde_lib.py: sde, marginal_prob, prior_sampling, prior_logp, discretize, reverse.
// Shapes: x [B, ...] (any trailing dims, e.g. [B, C, H, W]); t [B] in [0, T]; per-sample
// scalars are [B] and broadcast over the trailing dims.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <ATen/core/Tensor.h>

namespace sgm::sde {

// (f(x, t), g(t)): drift [B, ...] and diffusion [B].
struct DriftDiffusion {
  at::Tensor drift;
  at::Tensor diffusion;
};

// Mean [B, ...] and standard deviation [B] of p_0t(x_t | x_0).
struct MeanStd {
  at::Tensor mean;
  at::Tensor std;
};

// s(x, t): the score estimate, [B, ...] for x [B, ...] and t [B].
using ScoreFn = std::function<at::Tensor(const at::Tensor& x, const at::Tensor& t)>;

class ReverseSDE;

class SDE : public std::enable_shared_from_this<SDE> {
 public:
  explicit SDE(std::int64_t num_scales) : N_(num_scales) {}
  virtual ~SDE() = default;

  double T() const { return 1.0; }
  // Number of discretisation steps N.
  std::int64_t N() const { return N_; }

  virtual DriftDiffusion sde(const at::Tensor& x, const at::Tensor& t) const = 0;
  virtual MeanStd marginal_prob(const at::Tensor& x, const at::Tensor& t) const = 0;
  // A sample of the prior from standard normal noise z [B, ...].
  virtual at::Tensor prior_sampling(const at::Tensor& z) const = 0;
  // log density of the prior at z [B, ...] -> [B].
  virtual at::Tensor prior_logp(const at::Tensor& z) const = 0;
  // One discretisation step x_{i+1} = x_i + f_i + G_i z at time t (reverse direction uses it
  // too). Default: Euler-Maruyama, f = f(x,t)/N, G = g(t)/sqrt(N).
  virtual DriftDiffusion discretize(const at::Tensor& x, const at::Tensor& t) const;

  // The reverse-time SDE (or the probability-flow ODE when probability_flow) for a score.
  std::shared_ptr<ReverseSDE> reverse(ScoreFn score, bool probability_flow) const;

 private:
  std::int64_t N_;
};

// dx = [f - g^2 s (1/2 if probability flow)] dt + g dw̄ (g = 0 for the probability flow).
class ReverseSDE {
 public:
  ReverseSDE(std::shared_ptr<const SDE> forward, ScoreFn score, bool probability_flow);
  DriftDiffusion sde(const at::Tensor& x, const at::Tensor& t) const;
  DriftDiffusion discretize(const at::Tensor& x, const at::Tensor& t) const;
  bool probability_flow() const { return probability_flow_; }
  const SDE& forward() const { return *forward_; }

 private:
  std::shared_ptr<const SDE> forward_;
  ScoreFn score_;
  bool probability_flow_;
};

// v [B] viewed as [B, 1, ..., 1] to broadcast against x [B, ...].
at::Tensor batch_view(const at::Tensor& v, const at::Tensor& x);
// Sum over all but the first dimension: [B, ...] -> [B].
at::Tensor sum_except_batch(const at::Tensor& x);
// Number of elements per sample D.
std::int64_t per_sample_dim(const at::Tensor& x);

}  // namespace sgm::sde
