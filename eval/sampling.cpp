#include "eval/sampling.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include "eval/controllable.h"
#include "eval/ode_solvers.h"
#include "eval/pc_steps.h"
#include "eval/sample_noise.h"
#include "trainer/core/error.h"
#include "trainer/core/key_checks.h"
#include "trainer/sde/registry.h"

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
  UpdateFn corrector = make_corrector(o.corrector, context, {o.snr, o.n_steps_each, o.batch_norms});
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

Samples ode_sampler(std::shared_ptr<const sde::SDE> sde, const sde::ScoreFn& score,
                    const at::Tensor& indices, SampleNoise& noise,
                    const std::vector<std::int64_t>& shape, const SamplingOptions& o, double eps,
                    const at::Device& device) {
  const OdeSolverEntry& solver = ode_solver(o.ode_solver);
  OdeProblem problem{sde, score, indices, &noise, {noise.batch()}, &o, eps, device};
  problem.shape.insert(problem.shape.end(), shape.begin(), shape.end());
  Samples out = solver.solve(problem);
  if (o.noise_removal && !solver.edm_schedule && !solver.few_step) {
    // One reverse-diffusion step at eps keeping the mean (the reference's denoise_update_fn).
    const std::int64_t B = noise.batch();
    const sde::DriftDiffusion d =
        sde->reverse(score, false)->discretize(out.x, full_time(eps, B, device));
    out.x = out.x - d.drift;
    for (auto& n : out.nfe) ++n;
  }
  return out;
}

}  // namespace

double default_sampling_eps(const sde::SDE& sde) { return sde.default_sampling_eps(); }

sde::SdeOptions sampler_sde_options(const sde::SdeOptions& model_sde, std::int64_t steps) {
  sde::SdeOptions o = model_sde;
  if (steps <= 0 || steps == model_sde.num_scales) return o;
  if (!model_sde.continuous) {
    core::fail_key("sampling.steps",
                   fmt::format("{} levels: a discrete-time model (training.continuous = false) "
                               "samples its own model.num_scales = {}",
                               steps, model_sde.num_scales));
  }
  o.num_scales = steps;
  return o;
}

std::string predictor_names() { return core::entry_names(predictor_registry()); }
std::string corrector_names() { return core::entry_names(corrector_registry()); }
std::string ode_solver_names() { return core::entry_names(ode_solver_registry()); }

void validate(const SamplingOptions& o, const sde::SDE& sde) {
  using core::at_least;
  using core::fail_key;
  using core::positive;
  if (o.method != "pc" && o.method != "ode")
    fail_key("sampling.method", fmt::format("'{}' is not one of pc, ode", o.method));
  const PredictorEntry& p =
      core::registered("sampling.predictor", o.predictor, predictor_registry());
  const CorrectorEntry& c =
      core::registered("sampling.corrector", o.corrector, corrector_registry());
  core::registered("sampling.ode_solver", o.ode_solver, ode_solver_registry());
  at_least<std::int64_t>("sampling.n_steps_each", o.n_steps_each, 1);
  at_least<std::int64_t>("sampling.steps", o.steps, 0);
  positive("sampling.snr", o.snr);
  at_least("sampling.eps", o.eps, 0.0);
  positive("sampling.rtol", o.rtol);
  positive("sampling.atol", o.atol);
  const EdmOptions& e = o.edm;
  at_least<std::int64_t>("sampling.edm_steps", e.steps, 2);
  positive("sampling.edm_rho", e.rho);
  positive("sampling.edm_sigma_min", e.sigma_min);
  if (!(e.sigma_max > e.sigma_min))
    fail_key("sampling.edm_sigma_max", "must be larger than sampling.edm_sigma_min");
  at_least("sampling.edm_churn", e.churn, 0.0);
  positive("sampling.edm_s_noise", e.s_noise);
  if (!(e.s_min <= e.s_max)) fail_key("sampling.edm_s_min", "must not exceed sampling.edm_s_max");
  const MultistepOptions& m = o.multistep;
  at_least<std::int64_t>("sampling.nfe", m.nfe, o.noise_removal ? 2 : 1);
  const std::vector<std::string>& schedules = multistep_schedules();
  if (std::find(schedules.begin(), schedules.end(), m.schedule) == schedules.end())
    fail_key("sampling.schedule",
             fmt::format("'{}' is not one of logsnr, time_uniform, edm", m.schedule));
  if (o.method != "pc") return;
  // What the PC sampler's parts need of the SDE (the factories check the same).
  if (p.needs_discrete_form && !sde.has_discrete_form()) {
    fail_key("sampling.predictor",
             o.predictor + " is defined for the discrete forms of vesde and vpsde only");
  }
  if (o.probability_flow && !p.follows_probability_flow) {
    fail_key(
        "sampling.predictor",
        o.predictor + " cannot follow the probability flow (sampling.probability_flow = true)");
  }
  if (c.needs_discrete_form && !sde.has_discrete_form()) {
    fail_key("sampling.corrector",
             o.corrector + " needs the discrete alphas of vesde or vpsde, which this SDE lacks");
  }
}

void validate(const SamplingOptions& o, const std::string& sde_name) {
  sde::SdeOptions so;
  so.name = sde_name;
  validate(o, *sde::make_sde(so));
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
