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
// The network: output [B, ...] for x [B, ...] and its conditioning labels [B].
using ModelFn = std::function<at::Tensor(const at::Tensor& x, const at::Tensor& labels)>;

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

  // What else differs between the SDEs (score_sde decides it by isinstance checks in several
  // files; here each SDE answers for itself).
  //
  // The label the network is conditioned on at t [B]: continuous VE sigma(t), VP and sub-VP
  // 999 t; discrete VE the level index round((T - t)(N - 1)), VP (N - 1) t.
  virtual at::Tensor network_labels(const at::Tensor& t, bool continuous) const = 0;
  // The std [B] that turns the network output into the score, s = -out / std, for networks
  // that predict the noise (VP, sub-VP); undefined for VE, whose network outputs the score.
  virtual at::Tensor noise_std(const at::Tensor& x, const at::Tensor& t, const at::Tensor& labels,
                               bool continuous) const;
  // score_sde's sampling_eps: the last time of sampling.
  virtual double default_sampling_eps() const { return 1e-3; }
  // Whether the SDE has the discrete form of SMLD (VE) or DDPM (VP) that the Langevin and ALD
  // correctors, ancestral sampling and the discrete losses use; sub-VP has none.
  virtual bool has_discrete_form() const { return false; }
  // The level index floor(t (N - 1) / T) of t [B], as the reference's (t * (N - 1) / T).long().
  at::Tensor timestep(const at::Tensor& t) const;
  // With a discrete form (else core::Error):
  // alpha_i at t [B], by which the Langevin and ALD correctors scale their step (1 for VE).
  virtual at::Tensor corrector_alpha(const at::Tensor& t) const;
  // One ancestral-sampling step from x at t given the score there: the mean and the std [B] of
  // the noise added to it.
  virtual MeanStd ancestral_step(const at::Tensor& x, const at::Tensor& t,
                                 const at::Tensor& score) const;
  // The discrete-time training loss per example [B] (SMLD for VE, DDPM for VP) of x0 at the
  // noise levels `labels` with noise z.
  virtual at::Tensor discrete_loss(const ModelFn& net, const at::Tensor& x0,
                                   const at::Tensor& labels, const at::Tensor& z,
                                   bool reduce_mean) const;

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
