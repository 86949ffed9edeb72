// Sampling from a score model (score_sde_pytorch sampling.py): the PC sampler with a predictor
// and a corrector from the tables of eval/pc_steps.h, and the probability-flow ODE with a solver
// from eval/ode_solvers.h (RK45 with scipy's control, fixed-step Euler / Heun, EDM's Heun,
// DDIM, DPM-Solver++ and UniPC on few steps). Noise is keyed per sample (eval/sample_noise.h) and
// the ODE's step control is per sample, so a sample does not depend on its batch or on the world
// size.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "eval/edm_heun.h"
#include "eval/multistep_solvers.h"
#include "trainer/core/sde_options.h"
#include "trainer/sde/sde.h"

namespace sgm::eval {

// The names of the predictor, corrector and ODE solver registries (pc_steps.h, ode_solvers.h).
std::string predictor_names();
std::string corrector_names();
std::string ode_solver_names();

struct SamplingOptions {
  std::string method = "pc";                    // pc | ode
  std::string predictor = "reverse_diffusion";  // predictor_registry() (pc_steps.h)
  std::string corrector = "langevin";           // corrector_registry()
  std::int64_t n_steps_each = 1;                // corrector steps per noise level
  double snr = 0.16;
  bool noise_removal = true;  // PC: return the last x_mean; ODE: one reverse-diffusion step at eps
  bool probability_flow = false;  // predictors follow the probability-flow ODE
  double eps = 0;                 // last time; 0: 1e-5 for VE, 1e-3 for VP/sub-VP (score_sde)
  bool paper_order = false;  // predictor then corrector (Algorithm 1) instead of the code's order
  // Langevin step size from the batch means of |z| and |score|, as the reference (true), or per
  // sample (false). Batch means make a sample depend on its batch, so draw_samples takes the
  // mean over the global batch through `batch_mean` (an all-reduce across ranks); the
  // per-sample rule is batch-free but biased upwards in variance at small dimension (a step
  // size that depends on the state).
  bool batch_norms = true;
  // Noise levels of the PC sampler and of the fixed-step Euler/Heun ODE solvers; 0: the
  // model's model.num_scales. The model keeps its own (its buffers, its labels): the samplers
  // step on a copy of its SDE with these levels (sampler_sde_options).
  std::int64_t steps = 0;
  std::string ode_solver = "rk45";  // ode_solver_registry() (ode_solvers.h)
  double rtol = 1e-5;
  double atol = 1e-5;
  EdmOptions edm;
  MultistepOptions multistep;  // ddim, dpmpp_*, unipc*

  void declare_keys(core::Keys& k) {
    k("sampling.method", method, "pc (predictor-corrector) | ode (probability flow)");
    k("sampling.predictor", predictor, "PC sampler's predictor: " + predictor_names());
    k("sampling.corrector", corrector, "PC sampler's corrector: " + corrector_names());
    k("sampling.steps", steps,
      "noise levels of the PC sampler and of euler/heun (0: model.num_scales); any number for a "
      "continuously trained model, which keeps its own buffers");
    k("sampling.n_steps_each", n_steps_each, "corrector steps per noise level");
    k("sampling.noise_removal", noise_removal, "finish with one noise-free denoising step");
    k("sampling.probability_flow", probability_flow,
      "use the probability-flow drift in the predictor");
    k("sampling.snr", snr, "signal-to-noise ratio of the Langevin corrector");
    k("sampling.eps", eps,
      "last time of sampling; 0: 1e-5 for vesde, 1e-3 for vpsde/subvpsde (score_sde)");
    k("sampling.paper_order", paper_order,
      "predictor then corrector (the paper's Algorithm 1) instead of the reference code's order");
    k("sampling.batch_norms", batch_norms,
      "Langevin step size from norms averaged over the global batch (reference) or per sample");
    k("sampling.ode_solver", ode_solver, "probability-flow ODE solver: " + ode_solver_names());
    k("sampling.rtol", rtol, "RK45 relative tolerance of the ODE sampler");
    k("sampling.atol", atol, "RK45 absolute tolerance of the ODE sampler");
    edm.declare_keys(k);
    multistep.declare_keys(k);
  }
};

// Throws core::UsageError naming the sampling.* key for a value or combination that the
// reference refuses or that does not exist (the SDE's name: an SDE of that kind).
void validate(const SamplingOptions& options, const sde::SDE& sde);
void validate(const SamplingOptions& options, const std::string& sde_name);

struct Samples {
  at::Tensor x;                    // [B, C, H, W] in the model's data space (before any scaler)
  std::vector<std::int64_t> nfe;   // network evaluations per sample
  std::int64_t reference_nfe = 0;  // what score_sde reports (PC: N (n_steps + 1); ODE: nfev)
};

// Draws the samples with global indices `indices` ([B] int64) from `sde` with `score` (on
// float32 inputs). `shape` is one sample's shape.
// `batch_mean` maps this rank's per-sample values [B] to the mean over the whole global batch
// (all ranks): Langevin's batch norms. Empty: the mean over this rank's B samples.
// `constraint` (inpainting, colourisation; eval/controllable.h) needs the PC sampler.
using BatchMean = std::function<at::Tensor(const at::Tensor& per_sample)>;
struct Constraint;
Samples draw_samples(std::shared_ptr<const sde::SDE> sde, const sde::ScoreFn& score,
                     const at::Tensor& indices, const std::vector<std::int64_t>& shape,
                     std::uint64_t seed, const SamplingOptions& options, const at::Device& device,
                     const BatchMean& batch_mean = {}, const Constraint* constraint = nullptr);

// The SDE the samplers step on: `model_sde` with `steps` levels (0: its own). A discrete-time
// model (continuous = false) has labels only for its own levels: other levels are a
// core::UsageError naming sampling.steps.
core::SdeOptions sampler_sde_options(const core::SdeOptions& model_sde, std::int64_t steps);

// The default last time of sampling for an SDE (score_sde's sampling_eps).
double default_sampling_eps(const sde::SDE& sde);

}  // namespace sgm::eval
