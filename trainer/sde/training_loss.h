// The training objective of a run, chosen once (score_sde chooses it in losses.get_step_fn):
// continuous-time denoising score matching for every SDE, or the discrete losses, SMLD for VE
// and DDPM for VP. Each sample's time or noise level comes from the counter-based RNG at the
// sample's global stream position, so any world size and micro-batching draws the same.
#pragma once

#include <functional>
#include <memory>

#include <ATen/core/Tensor.h>

#include "trainer/core/keys.h"
#include "trainer/core/rng.h"
#include "trainer/sde/score_fn.h"
#include "trainer/sde/sde.h"

namespace sgm::sde {

struct TrainingLossOptions {
  bool reduce_mean = false;
  bool likelihood_weighting = false;  // continuous only

  void declare_keys(core::Keys& k) {
    k("training.likelihood_weighting", likelihood_weighting,
      "weight the DSM loss by g(t)^2 (Song et al. 2021b)");
    k("training.reduce_mean", reduce_mean,
      "average the per-sample loss over dimensions (else 0.5 * sum)");
  }
};

// Per-example loss [B] of the batch x [B, ...] with noise z (x's shape) for the samples at
// `positions` ([B] int64, CPU): continuous, t = training_time(u) with u from stream kTime;
// discrete, the noise level index = a word of stream kLabel modulo N.
using TrainingLoss = std::function<at::Tensor(const ModelFn& net, const at::Tensor& x,
                                              const at::Tensor& z, const at::Tensor& positions)>;

// `continuous`: training.continuous (core::SdeOptions). Throws core::UsageError when discrete
// training has no loss for this SDE.
TrainingLoss make_training_loss(std::shared_ptr<const SDE> sde, bool continuous,
                                const TrainingLossOptions& options, const core::CounterRng& rng);

}  // namespace sgm::sde
