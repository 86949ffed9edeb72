#include "eval/sampling.h"

#include <cmath>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include "eval/controllable.h"
#include "eval/pc_steps.h"
#include "eval/rk45.h"
#include "eval/sample_noise.h"
#include "trainer/core/error.h"

namespace sgm::eval {
namespace {

at::Tensor full_time(double t, std::int64_t B, const at::Device& device) {
  return at::full({B}, t, at::TensorOptions().dtype(at::kFloat).device(device));
}

Samples pc_sampler(std::shared_ptr<const sde::SDE> sde, const sde::ScoreFn& score,
                   SampleNoise& noise, const SamplingOptions& o, double eps,
                   const at::Device& device, const BatchMean& batch_mean,
                   const Constraint* constraint) {
  std::int64_t calls = 0;
  StepContext context{sde, score, &noise, &calls, sde->N(), batch_mean};
  if (!context.batch_mean) {
    context.batch_mean = [](const at::Tensor& v) { return v.mean().expand({v.size(0)}); };
  }
  UpdateFn predictor = make_predictor(o.predictor, context, o.probability_flow);
  UpdateFn corrector = make_corrector(o.corrector, context, o.snr, o.n_steps_each, o.batch_norms);
  const std::int64_t B = noise.batch(), N = sde->N();
  at::Tensor x = sde->prior_sampling(noise.normal(core::RngStream::kPrior, 0));
  if (constraint != nullptr) {
    // Controllable generation: the known part is projected after every update.
    x = constrained_prior(*constraint, x);
    auto constrained = [&](UpdateFn update) -> UpdateFn {
      return [update, constraint, sde, &noise](const at::Tensor& state, const at::Tensor& t) {
        return project(*constraint, *sde, update(state, t).x, t, noise.next());
      };
    };
    predictor = constrained(predictor);
    corrector = constrained(corrector);
  }
  at::Tensor mean = x;
  // t_i = linspace(T, eps, N)[i], in float32 as torch.linspace makes it.
  const at::Tensor times = at::linspace(sde->T(), eps, N, at::TensorOptions().dtype(at::kFloat));
  for (std::int64_t i = 0; i < N; ++i) {
    const at::Tensor t = full_time(times[i].item<double>(), B, device);
    Update u{x, mean};
    if (o.paper_order) {
      u = predictor(u.x, t);
      u = corrector(u.x, t);
    } else {
      u = corrector(u.x, t);
      u = predictor(u.x, t);
    }
    x = u.x;
    mean = u.x_mean;
  }
  Samples out;
  out.x = o.noise_removal ? mean : x;
  out.nfe.assign(static_cast<std::size_t>(B), calls);
  out.reference_nfe = N * (o.n_steps_each + 1);
  return out;
}

// The probability-flow drift on float32 inputs (as the reference casts the solver state).
at::Tensor ode_drift(const sde::ReverseSDE& reverse, const at::Tensor& x, const at::Tensor& t) {
  return reverse.sde(x.to(at::kFloat), t.to(at::kFloat)).drift;
}

Samples ode_sampler(std::shared_ptr<const sde::SDE> sde, const sde::ScoreFn& score,
                    const at::Tensor& indices, SampleNoise& noise,
                    const std::vector<std::int64_t>& shape, const SamplingOptions& o, double eps,
                    const at::Device& device) {
  const std::shared_ptr<sde::ReverseSDE> reverse = sde->reverse(score, true);
  const std::int64_t B = noise.batch();
  std::vector<std::int64_t> full{B};
  full.insert(full.end(), shape.begin(), shape.end());
  Samples out;
  if (o.ode_solver == "edm_heun") {  // draws its own prior, scaled to its first noise level
    const EdmResult r = edm_heun(*sde, score, noise, eps, o.edm, device);
    out.x = r.x;
    out.nfe.assign(static_cast<std::size_t>(B), r.nfe);
    out.reference_nfe = r.nfe;
    return out;
  }
  const at::Tensor x0 = sde->prior_sampling(noise.normal(core::RngStream::kPrior, 0));
  at::Tensor x;
  if (o.ode_solver == "rk45") {
    Rk45Options ro;
    ro.rtol = o.rtol;
    ro.atol = o.atol;
    const SystemRhs rhs = [&](const at::Tensor&, const at::Tensor& t, const at::Tensor& y) {
      std::vector<std::int64_t> s = full;
      s[0] = y.size(0);
      return ode_drift(*reverse, y.view(s), t).reshape({y.size(0), -1}).to(at::kDouble);
    };
    const Rk45Result r = solve_rk45(rhs, sde->T(), eps, x0.to(at::kDouble).reshape({B, -1}), ro);
    for (std::size_t i = 0; i < r.failure.size(); ++i) {
      if (!r.failure[i].empty()) {
        throw core::Error(fmt::format("probability-flow ODE failed for sample {}: {}",
                                      indices[static_cast<std::int64_t>(i)].item<std::int64_t>(),
                                      r.failure[i]));
      }
    }
    x = r.y.view(full).to(at::kFloat);
    out.nfe = r.nfev;
    std::int64_t most = 0;
    for (std::int64_t n : r.nfev) most = std::max(most, n);
    out.reference_nfe = most;
  } else {
    // Fixed steps on linspace(T, eps, steps + 1): Euler, or Heun (trapezoidal corrector).
    const std::int64_t steps = sde->N();
    const bool heun = o.ode_solver == "heun";
    x = x0;
    for (std::int64_t i = 0; i < steps; ++i) {
      const double t0 =
          sde->T() + (eps - sde->T()) * static_cast<double>(i) / static_cast<double>(steps);
      const double t1 =
          sde->T() + (eps - sde->T()) * static_cast<double>(i + 1) / static_cast<double>(steps);
      const at::Tensor d0 = ode_drift(*reverse, x, full_time(t0, B, device));
      const at::Tensor euler = x + d0 * (t1 - t0);
      x = heun ? x + (d0 + ode_drift(*reverse, euler, full_time(t1, B, device))) * (0.5 * (t1 - t0))
               : euler;
    }
    out.nfe.assign(static_cast<std::size_t>(B), steps * (heun ? 2 : 1));
    out.reference_nfe = out.nfe[0];
  }
  if (o.noise_removal) {
    // One reverse-diffusion step at eps keeping the mean (the reference's denoise_update_fn).
    const sde::DriftDiffusion d =
        sde->reverse(score, false)->discretize(x, full_time(eps, B, device));
    x = x - d.drift;
    for (auto& n : out.nfe) ++n;
  }
  out.x = x;
  return out;
}

}  // namespace

double default_sampling_eps(const sde::SDE& sde) { return sde.default_sampling_eps(); }

void validate(const SamplingOptions& o, const std::string& sde_name) {
  auto one_of = [](const std::string& key, const std::string& value,
                   std::initializer_list<const char*> allowed) {
    for (const char* a : allowed)
      if (value == a) return;
    std::string list;
    for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    throw core::UsageError(fmt::format("{} = '{}': expected one of {}", key, value, list));
  };
  one_of("sampling.method", o.method, {"pc", "ode"});
  one_of("sampling.predictor", o.predictor,
         {"euler_maruyama", "reverse_diffusion", "ancestral_sampling", "none"});
  one_of("sampling.corrector", o.corrector, {"langevin", "ald", "none"});
  one_of("sampling.ode_solver", o.ode_solver, {"rk45", "euler", "heun", "edm_heun"});
  const EdmOptions& e = o.edm;
  if (e.steps < 2) throw core::UsageError("sampling.edm_steps must be >= 2");
  if (!(e.rho > 0)) throw core::UsageError("sampling.edm_rho must be > 0");
  if (!(e.sigma_min > 0) || !(e.sigma_max > e.sigma_min))
    throw core::UsageError("sampling.edm_sigma_min/max: need 0 < edm_sigma_min < edm_sigma_max");
  if (!(e.churn >= 0) || !(e.s_noise > 0) || !(e.s_min <= e.s_max))
    throw core::UsageError(
        "sampling.edm_churn must be >= 0, edm_s_noise > 0 and edm_s_min <= edm_s_max");
  if (o.method == "pc" && o.corrector != "none" && sde_name == "subvpsde") {
    throw core::UsageError(fmt::format(
        "sampling.corrector = {} with subvpsde: the reference has no sub-VP alphas", o.corrector));
  }
  if (o.method == "pc" && o.predictor == "ancestral_sampling" && sde_name == "subvpsde")
    throw core::UsageError("sampling.predictor = ancestral_sampling needs vesde or vpsde");
  if (o.n_steps_each < 1) throw core::UsageError("sampling.n_steps_each must be >= 1");
  if (!(o.rtol > 0) || !(o.atol > 0))
    throw core::UsageError("sampling.rtol and sampling.atol must be > 0");
}

Samples draw_samples(std::shared_ptr<const sde::SDE> sde, const sde::ScoreFn& score,
                     const at::Tensor& indices, const std::vector<std::int64_t>& shape,
                     std::uint64_t seed, const SamplingOptions& o, const at::Device& device,
                     const BatchMean& batch_mean, const Constraint* constraint) {
  at::NoGradGuard no_grad;
  SampleNoise noise(seed, indices, shape, device);
  const double eps = o.eps > 0 ? o.eps : default_sampling_eps(*sde);
  if (constraint != nullptr && o.method != "pc") {
    throw core::UsageError(fmt::format(
        "inpainting and colorization run the PC sampler: sampling.method = {}", o.method));
  }
  if (o.method == "ode") return ode_sampler(sde, score, indices, noise, shape, o, eps, device);
  return pc_sampler(sde, score, noise, o, eps, device, batch_mean, constraint);
}

}  // namespace sgm::eval
