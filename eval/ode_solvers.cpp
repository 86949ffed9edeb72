#include "eval/ode_solvers.h"

#include <algorithm>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "eval/edm_heun.h"
#include "eval/multistep_solvers.h"
#include "eval/rk45.h"
#include "eval/sampling.h"
#include "trainer/core/error.h"
#include "trainer/core/key_checks.h"

namespace sgm::eval {
namespace {

at::Tensor full_time(double t, std::int64_t B, const at::Device& device) {
  return at::full({B}, t, at::TensorOptions().dtype(at::kFloat).device(device));
}

at::Tensor prior(const OdeProblem& p) {
  return p.sde->prior_sampling(p.noise->normal(core::RngStream::kPrior, 0));
}

// The probability-flow drift on float32 inputs (as the reference casts the solver state).
at::Tensor ode_drift(const sde::ReverseSDE& reverse, const at::Tensor& x, const at::Tensor& t) {
  return reverse.sde(x.to(at::kFloat), t.to(at::kFloat)).drift;
}

// scipy's RK45 with per-sample step control (each sample is its own system).
Samples rk45(const OdeProblem& p) {
  const std::shared_ptr<sde::ReverseSDE> reverse = p.sde->reverse(p.score, true);
  const std::int64_t B = p.shape[0];
  Rk45Options ro;
  ro.rtol = p.options->rtol;
  ro.atol = p.options->atol;
  const SystemRhs rhs = [&](const at::Tensor&, const at::Tensor& t, const at::Tensor& y) {
    std::vector<std::int64_t> s = p.shape;
    s[0] = y.size(0);
    return ode_drift(*reverse, y.view(s), t).reshape({y.size(0), -1}).to(at::kDouble);
  };
  const Rk45Result r =
      solve_rk45(rhs, p.sde->T(), p.eps, prior(p).to(at::kDouble).reshape({B, -1}), ro);
  for (std::size_t i = 0; i < r.failure.size(); ++i) {
    if (!r.failure[i].empty()) {
      throw core::Error(fmt::format("probability-flow ODE failed for sample {}: {}",
                                    p.indices[static_cast<std::int64_t>(i)].item<std::int64_t>(),
                                    r.failure[i]));
    }
  }
  Samples out;
  out.x = r.y.view(p.shape).to(at::kFloat);
  out.nfe = r.nfev;
  out.reference_nfe = *std::max_element(r.nfev.begin(), r.nfev.end());
  return out;
}

// Fixed steps on linspace(T, eps, N + 1): Euler, or Heun (trapezoidal corrector).
Samples fixed_steps(const OdeProblem& p, bool heun) {
  const std::shared_ptr<sde::ReverseSDE> reverse = p.sde->reverse(p.score, true);
  const std::int64_t B = p.shape[0], steps = p.sde->N();
  const double T = p.sde->T();
  at::Tensor x = prior(p);
  for (std::int64_t i = 0; i < steps; ++i) {
    const double t0 = T + (p.eps - T) * static_cast<double>(i) / static_cast<double>(steps);
    const double t1 = T + (p.eps - T) * static_cast<double>(i + 1) / static_cast<double>(steps);
    const at::Tensor d0 = ode_drift(*reverse, x, full_time(t0, B, p.device));
    const at::Tensor euler = x + d0 * (t1 - t0);
    x = heun ? x + (d0 + ode_drift(*reverse, euler, full_time(t1, B, p.device))) * (0.5 * (t1 - t0))
             : euler;
  }
  Samples out;
  out.x = x;
  out.nfe.assign(static_cast<std::size_t>(B), steps * (heun ? 2 : 1));
  out.reference_nfe = out.nfe[0];
  return out;
}

// EDM's Heun: draws its own prior, scaled to its first noise level.
Samples edm(const OdeProblem& p) {
  const EdmResult r = edm_heun(*p.sde, p.score, *p.noise, p.eps, p.options->edm, p.device);
  Samples out;
  out.x = r.x;
  out.nfe.assign(static_cast<std::size_t>(p.shape[0]), r.nfe);
  out.reference_nfe = r.nfe;
  return out;
}

// DDIM, DPM-Solver++ and UniPC: sampling.nfe calls, the last one the denoising if asked for.
Samples multistep(const OdeProblem& p, MultistepMethod method, std::int64_t order) {
  const SamplingOptions& o = *p.options;
  MultistepSolve solve;
  solve.method = method;
  solve.order = order;
  solve.denoise = o.noise_removal;
  solve.steps = o.multistep.nfe - (o.noise_removal ? 1 : 0);
  solve.schedule = o.multistep.schedule;
  solve.rho = o.edm.rho;
  solve.sigma_min = o.edm.sigma_min;
  solve.sigma_max = o.edm.sigma_max;
  solve.lower_order_final = o.multistep.lower_order_final;
  const MultistepResult r = multistep_solve(*p.sde, p.score, *p.noise, p.eps, solve, p.device);
  Samples out;
  out.x = r.x;
  out.nfe.assign(static_cast<std::size_t>(p.shape[0]), r.nfe);
  out.reference_nfe = r.nfe;
  return out;
}

OdeSolverEntry few_step(const char* name, const char* help, MultistepMethod method,
                        std::int64_t order) {
  OdeSolverEntry e{name, help, false, true, nullptr};
  e.solve = [method, order](const OdeProblem& p) { return multistep(p, method, order); };
  return e;
}

}  // namespace

const std::vector<OdeSolverEntry>& ode_solver_registry() {
  using M = MultistepMethod;
  static const std::vector<OdeSolverEntry> table = {
      {"rk45", "adaptive Dormand-Prince with scipy's control (sampling.rtol/atol)", false, false,
       rk45},
      {"euler", "Euler, sampling.steps (0: model.num_scales) fixed steps", false, false,
       [](const OdeProblem& p) { return fixed_steps(p, false); }},
      {"heun", "Heun, sampling.steps (0: model.num_scales) fixed steps", false, false,
       [](const OdeProblem& p) { return fixed_steps(p, true); }},
      {"edm_heun", "EDM's Heun on its rho-schedule (sampling.edm_*)", true, false, edm},
      few_step("ddim", "DDIM (first-order DPM-Solver++), sampling.nfe calls", M::kDpmSolverPP, 1),
      few_step("dpmpp_2m", "DPM-Solver++(2M), sampling.nfe calls", M::kDpmSolverPP, 2),
      few_step("dpmpp_3m", "DPM-Solver++(3M), sampling.nfe calls", M::kDpmSolverPP, 3),
      few_step("unipc_2", "UniPC bh2 of order 2 (third with its corrector), sampling.nfe calls",
               M::kUniPC, 2),
      few_step("unipc", "UniPC bh2 of order 3 (fourth with its corrector), sampling.nfe calls",
               M::kUniPC, 3),
  };
  return table;
}

const OdeSolverEntry& ode_solver(const std::string& name) {
  return core::registered("sampling.ode_solver", name, ode_solver_registry());
}

}  // namespace sgm::eval
