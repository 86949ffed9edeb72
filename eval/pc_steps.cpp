#include "eval/pc_steps.h"

#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "trainer/core/key_checks.h"

namespace sgm::eval {
namespace {

using sde::batch_view;

// Per-sample L2 norms [B], or their mean over the global batch as the reference computes them.
at::Tensor norms(const StepContext& c, const at::Tensor& v, bool batch) {
  const at::Tensor n = v.reshape({v.size(0), -1}).norm(2, {1});
  return batch ? c.batch_mean(n) : n;
}

UpdateFn identity() {
  return [](const at::Tensor& x, const at::Tensor&) { return Update{x, x}; };
}

UpdateFn euler_maruyama(const StepContext& c, bool probability_flow) {
  const std::shared_ptr<sde::ReverseSDE> reverse = c.sde->reverse(c.score, probability_flow);
  return [c, reverse](const at::Tensor& x, const at::Tensor& t) {
    const double dt = -1.0 / static_cast<double>(c.N);
    const at::Tensor z = c.noise->next();
    const sde::DriftDiffusion d = reverse->sde(x, t);
    ++*c.calls;
    const at::Tensor mean = x + d.drift * dt;
    return Update{mean + batch_view(d.diffusion, x) * std::sqrt(-dt) * z, mean};
  };
}

UpdateFn reverse_diffusion(const StepContext& c, bool probability_flow) {
  const std::shared_ptr<sde::ReverseSDE> reverse = c.sde->reverse(c.score, probability_flow);
  return [c, reverse](const at::Tensor& x, const at::Tensor& t) {
    const sde::DriftDiffusion d = reverse->discretize(x, t);
    ++*c.calls;
    const at::Tensor z = c.noise->next();
    const at::Tensor mean = x - d.drift;
    return Update{mean + batch_view(d.diffusion, x) * z, mean};
  };
}

// SMLD's step for VE, DDPM's for VP.
UpdateFn ancestral_sampling(const StepContext& c, bool) {
  return [c](const at::Tensor& x, const at::Tensor& t) {
    const at::Tensor score = c.score(x, t);
    ++*c.calls;
    const sde::MeanStd step = c.sde->ancestral_step(x, t, score);
    return Update{step.mean + batch_view(step.std, x) * c.noise->next(), step.mean};
  };
}

// Langevin with the step from the signal-to-noise ratio of noise and score.
UpdateFn langevin(const StepContext& c, const CorrectorSettings& s) {
  return [c, s](const at::Tensor& x_in, const at::Tensor& t) {
    const at::Tensor alpha = c.sde->corrector_alpha(t);
    at::Tensor x = x_in, mean = x_in;
    for (std::int64_t i = 0; i < s.n_steps; ++i) {
      const at::Tensor grad = c.score(x, t);
      ++*c.calls;
      const at::Tensor z = c.noise->next();
      const at::Tensor ratio = s.snr * norms(c, z, s.batch_norms) / norms(c, grad, s.batch_norms);
      const at::Tensor step = batch_view(ratio.square() * 2 * alpha, x);
      mean = x + step * grad;
      x = mean + (step * 2).sqrt() * z;
    }
    return Update{x, mean};
  };
}

// Annealed Langevin dynamics (NCSN): the step from the marginal std at t.
UpdateFn annealed_langevin(const StepContext& c, const CorrectorSettings& s) {
  return [c, s](const at::Tensor& x_in, const at::Tensor& t) {
    const at::Tensor alpha = c.sde->corrector_alpha(t);
    const at::Tensor std = c.sde->marginal_prob(x_in, t).std;
    at::Tensor x = x_in, mean = x_in;
    for (std::int64_t i = 0; i < s.n_steps; ++i) {
      const at::Tensor grad = c.score(x, t);
      ++*c.calls;
      const at::Tensor z = c.noise->next();
      const at::Tensor step = batch_view((s.snr * std).square() * 2 * alpha, x);
      mean = x + step * grad;
      x = mean + (step * 2).sqrt() * z;
    }
    return Update{x, mean};
  };
}

void check_sde(const char* key, const std::string& name, bool needs_discrete_form,
               const sde::SDE& sde) {
  if (needs_discrete_form && !sde.has_discrete_form()) {
    core::fail_key(key, fmt::format("{} needs the discrete form of vesde (SMLD) or vpsde (DDPM), "
                                    "which this SDE lacks",
                                    name));
  }
}

}  // namespace

const std::vector<PredictorEntry>& predictor_registry() {
  static const std::vector<PredictorEntry> table = {
      {"euler_maruyama", "Euler-Maruyama step of the reverse SDE", false, true, euler_maruyama},
      {"reverse_diffusion", "reverse diffusion: the SDE's own discretisation, reversed", false,
       true, reverse_diffusion},
      {"ancestral_sampling", "SMLD / DDPM ancestral step (vesde, vpsde)", true, false,
       ancestral_sampling},
      {"none", "no predictor (corrector only)", false, true,
       [](const StepContext&, bool) { return identity(); }},
  };
  return table;
}

const std::vector<CorrectorEntry>& corrector_registry() {
  static const std::vector<CorrectorEntry> table = {
      {"langevin", "Langevin MCMC at a target signal-to-noise ratio (vesde, vpsde)", true,
       langevin},
      {"ald", "annealed Langevin dynamics (NCSN; vesde, vpsde)", true, annealed_langevin},
      {"none", "no corrector", false,
       [](const StepContext&, const CorrectorSettings&) { return identity(); }},
  };
  return table;
}

UpdateFn make_predictor(const std::string& name, const StepContext& c, bool probability_flow) {
  const PredictorEntry& e = core::registered("sampling.predictor", name, predictor_registry());
  check_sde("sampling.predictor", name, e.needs_discrete_form, *c.sde);
  if (probability_flow && !e.follows_probability_flow) {
    core::fail_key("sampling.predictor",
                   name + " cannot follow the probability flow (sampling.probability_flow = true)");
  }
  return e.make(c, probability_flow);
}

UpdateFn make_corrector(const std::string& name, const StepContext& c,
                        const CorrectorSettings& settings) {
  const CorrectorEntry& e = core::registered("sampling.corrector", name, corrector_registry());
  check_sde("sampling.corrector", name, e.needs_discrete_form, *c.sde);
  return e.make(c, settings);
}

}  // namespace sgm::eval
