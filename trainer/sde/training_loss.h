// The training objective of a run, chosen once (score_sde chooses it in losses.get_step_fn):
// continuous-time denoising score matching for every SDE, or the discrete losses, SMLD for VE
// and DDPM for VP; or, in continuous time, implicit or sliced score matching of the perturbed
// data (training.loss). Each sample's time or noise level, and its projections, come from the
// counter-based RNG at the sample's global stream position, so any world size and
// micro-batching draws the same.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trainer/core/keys.h"
#include "trainer/core/rng.h"
#include "trainer/sde/score_fn.h"
#include "trainer/sde/sde.h"

namespace sgm::sde {

struct TrainingLossOptions {
  bool reduce_mean = false;
  bool likelihood_weighting = false;  // continuous only
  std::string objective = "dsm";      // training.loss: an objective_registry() name
  std::int64_t projections = 1;       // ssm, ssm_vr: probes per sample
  std::string probe = "rademacher";   // ssm, ssm_vr: rademacher | gaussian
  std::int64_t ism_max_dims = 64;     // ism: the largest dimension it accepts

  void declare_keys(core::Keys& k);
};

// training.loss: the score-matching objectives. Each but dsm is computed on the perturbed
// sample x~ = mean(x0, t) + std(t) z with the model's score s = score(x~, t) as a function of x~,
// per example in the 1/2-sum convention, weighted like DSM by lambda(t) = std(t)^2 (g(t)^2
// with likelihood weighting) and, with training.reduce_mean, scaled by 2/D as DSM's mean is:
//   dsm     denoising score matching (Vincent 2011; score_sde's loss): 1/2 |s + z/std|^2
//   ism     implicit score matching (Hyvarinen 2005): tr(ds/dx~) + 1/2 |s|^2, the trace exact
//   ssm     sliced score matching (Song et al. 2019): v^T (ds/dx~) v + 1/2 (v^T s)^2
//   ssm_vr  its variance-reduced form: v^T (ds/dx~) v + 1/2 |s|^2
// ism, ssm and ssm_vr do not use z beyond making x~: their expectations equal DSM's less a
// constant, so they learn the same score but report other values (negative ones too).
struct ObjectiveEntry {
  std::string name;   // training.loss
  std::string help;   // one line
  bool probes;        // draws training.ssm_projections probes per sample
  bool exact_trace;   // one backward pass per data dimension (training.ism_max_dims applies)
  // Per example, 1/2-sum convention, of the score s of x~ and the probes; empty for dsm (the
  // SDE's own loss).
  std::function<at::Tensor(const std::function<at::Tensor(const at::Tensor&)>& s,
                           const at::Tensor& perturbed, const std::vector<at::Tensor>& probes)>
      per_example;
};
const std::vector<ObjectiveEntry>& objective_registry();

// Per-example loss [B] of the batch x [B, ...] with noise z (x's shape) for the samples at
// `positions` ([B] int64, CPU): continuous, t = training_time(u) with u from stream kTime;
// discrete, the noise level index = a word of stream kLabel modulo N.
using TrainingLoss = std::function<at::Tensor(const ModelFn& net, const at::Tensor& x,
                                              const at::Tensor& z, const at::Tensor& positions)>;

// `continuous`: training.continuous (core::SdeOptions). Throws core::UsageError naming the key
// when discrete training has no loss for this SDE, when training.loss is not in the registry,
// or when an objective other than dsm is asked for in discrete time.
TrainingLoss make_training_loss(std::shared_ptr<const SDE> sde, bool continuous,
                                const TrainingLossOptions& options, const core::CounterRng& rng);

}  // namespace sgm::sde
