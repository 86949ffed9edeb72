// The probability-flow ODE solvers (sampling.ode_solver): RK45 with scipy's step control,
// fixed-step Euler and Heun on the SDE's N steps, EDM's Heun on its own noise schedule, and the
// few-step multistep solvers (DDIM, DPM-Solver++ 2M/3M, UniPC) on sampling.nfe network calls. The
// ODE sampler, the validator, --help and the records of a sample job read this one table.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "eval/sample_noise.h"
#include "trainer/sde/sde.h"

namespace sgm::eval {

struct SamplingOptions;
struct Samples;

// One probability-flow solve of a batch from T to `eps`.
struct OdeProblem {
  std::shared_ptr<const sde::SDE> sde;
  sde::ScoreFn score;
  at::Tensor indices;               // [B] global sample indices (for error messages)
  SampleNoise* noise = nullptr;     // the prior (and EDM's churn) come from here
  std::vector<std::int64_t> shape;  // [B, C, H, W]
  const SamplingOptions* options = nullptr;
  double eps = 0;
  at::Device device = at::kCPU;
};

struct OdeSolverEntry {
  std::string name;
  std::string help;
  // Runs on EDM's noise schedule (sampling.edm_*) down to noise level 0: no denoising step at
  // eps follows it, and a sample job records the schedule.
  bool edm_schedule = false;
  // Makes exactly sampling.nfe network calls on sampling.schedule (multistep_solvers.h) and
  // performs sampling.noise_removal itself (as its last call).
  bool few_step = false;
  std::function<Samples(const OdeProblem&)> solve;
};

const std::vector<OdeSolverEntry>& ode_solver_registry();

// Throws core::UsageError naming sampling.ode_solver for an unregistered name.
const OdeSolverEntry& ode_solver(const std::string& name);

}  // namespace sgm::eval
