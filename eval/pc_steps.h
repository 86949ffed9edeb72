// One predictor or corrector update of the PC sampler (score_sde_pytorch sampling.py): each
// returns (x, x_mean) and draws its noise from the per-sample sampler stream.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <ATen/core/Tensor.h>

#include "eval/sample_noise.h"
#include "trainer/sde/sde.h"

namespace sgm::eval {

struct Update {
  at::Tensor x;
  at::Tensor x_mean;
};

// (x, t [B]) -> (x, x_mean); `calls` counts network evaluations.
using UpdateFn = std::function<Update(const at::Tensor& x, const at::Tensor& t)>;

struct StepContext {
  std::shared_ptr<const sde::SDE> sde;
  sde::ScoreFn score;
  SampleNoise* noise = nullptr;
  std::int64_t* calls = nullptr;
  std::int64_t N = 1000;  // noise levels of this run (dt = -1/N)
  // Per-sample values [B] -> their mean over the global batch, broadcast to [B].
  std::function<at::Tensor(const at::Tensor&)> batch_mean;
};

UpdateFn make_predictor(const std::string& name, const StepContext& c, bool probability_flow);
UpdateFn make_corrector(const std::string& name, const StepContext& c, double snr,
                        std::int64_t n_steps, bool batch_norms);

}  // namespace sgm::eval
