// One predictor or corrector update of the PC sampler (score_sde_pytorch sampling.py): each
// returns (x, x_mean) and draws its noise from the per-sample sampler stream.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

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

// The predictor registry (sampling.predictor) and the corrector registry (sampling.corrector):
// the sampler, the validator and --help read these tables.
struct PredictorEntry {
  std::string name;
  std::string help;
  bool needs_discrete_form = false;      // SMLD / DDPM updates: vesde and vpsde only
  bool follows_probability_flow = true;  // runs with sampling.probability_flow = true
  std::function<UpdateFn(const StepContext&, bool probability_flow)> make;
};

struct CorrectorSettings {
  double snr = 0.16;
  std::int64_t n_steps = 1;
  bool batch_norms = true;  // Langevin's step size from batch means of the norms
};

struct CorrectorEntry {
  std::string name;
  std::string help;
  bool needs_discrete_form = false;  // scales its step by the discrete alphas
  std::function<UpdateFn(const StepContext&, const CorrectorSettings&)> make;
};

const std::vector<PredictorEntry>& predictor_registry();
const std::vector<CorrectorEntry>& corrector_registry();

// Throw core::UsageError naming sampling.predictor / sampling.corrector for a name that is not
// registered or an SDE (or probability_flow) the part does not support.
UpdateFn make_predictor(const std::string& name, const StepContext& c, bool probability_flow);
UpdateFn make_corrector(const std::string& name, const StepContext& c,
                        const CorrectorSettings& settings);

}  // namespace sgm::eval
