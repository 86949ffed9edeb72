// The training job's snapshot samples: Euler-Maruyama on the reverse SDE (score_sde's
// euler_maruyama predictor without a corrector), enough to see that a run learns. The full
// sampler suite (PC, probability-flow ODE) belongs to sgm-eval.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "trainer/sde/sde.h"

namespace sgm::train {

// `count` samples of shape [C, H, W] in `steps` steps from t = 1 to eps = 1e-3; the last step
// returns the mean (no noise). Noise from the counter-based RNG keyed by (seed, step, sample).
at::Tensor sample_reverse_sde(std::shared_ptr<const sde::SDE> sde, const sde::ScoreFn& score,
                              std::int64_t count, at::IntArrayRef shape, std::int64_t steps,
                              std::uint64_t seed, const at::Device& device);

}  // namespace sgm::train
