#include "eval/pc_steps.h"

#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "trainer/core/error.h"

namespace sgm::eval {
namespace {

using sde::batch_view;

// Per-sample L2 norms [B], or their mean over the global batch as the reference computes them.
at::Tensor norms(const StepContext& c, const at::Tensor& v, bool batch) {
  const at::Tensor n = v.reshape({v.size(0), -1}).norm(2, {1});
  return batch ? c.batch_mean(n) : n;
}

// alpha_i of the VP discretisation (Langevin and ALD scale their step by it), 1 for VE.
at::Tensor corrector_alpha(const StepContext& c, const at::Tensor& t, const std::string& name) {
  if (c.sde->has_discrete_form()) return c.sde->corrector_alpha(t);
  throw core::UsageError(fmt::format(
      "sampling.corrector = {} needs vesde or vpsde (the reference has no sub-VP alphas)", name));
}

}  // namespace

UpdateFn make_predictor(const std::string& name, const StepContext& c, bool probability_flow) {
  const std::shared_ptr<sde::ReverseSDE> reverse = c.sde->reverse(c.score, probability_flow);
  if (name == "none") return [](const at::Tensor& x, const at::Tensor&) { return Update{x, x}; };
  if (name == "euler_maruyama") {
    return [c, reverse](const at::Tensor& x, const at::Tensor& t) {
      const double dt = -1.0 / static_cast<double>(c.N);
      const at::Tensor z = c.noise->next();
      const sde::DriftDiffusion d = reverse->sde(x, t);
      ++*c.calls;
      const at::Tensor mean = x + d.drift * dt;
      return Update{mean + batch_view(d.diffusion, x) * std::sqrt(-dt) * z, mean};
    };
  }
  if (name == "reverse_diffusion") {
    return [c, reverse](const at::Tensor& x, const at::Tensor& t) {
      const sde::DriftDiffusion d = reverse->discretize(x, t);
      ++*c.calls;
      const at::Tensor z = c.noise->next();
      const at::Tensor mean = x - d.drift;
      return Update{mean + batch_view(d.diffusion, x) * z, mean};
    };
  }
  if (name == "ancestral_sampling") {
    if (probability_flow)
      throw core::UsageError(
          "sampling.predictor = ancestral_sampling with probability_flow = true");
    if (!c.sde->has_discrete_form())
      throw core::UsageError("sampling.predictor = ancestral_sampling needs vesde or vpsde");
    // SMLD's step for VE, DDPM's for VP.
    return [c](const at::Tensor& x, const at::Tensor& t) {
      const at::Tensor score = c.score(x, t);
      ++*c.calls;
      const sde::MeanStd step = c.sde->ancestral_step(x, t, score);
      return Update{step.mean + batch_view(step.std, x) * c.noise->next(), step.mean};
    };
  }
  throw core::UsageError(
      fmt::format("sampling.predictor = '{}' is not one of euler_maruyama, "
                  "reverse_diffusion, ancestral_sampling, none",
                  name));
}

UpdateFn make_corrector(const std::string& name, const StepContext& c, double snr,
                        std::int64_t n_steps, bool batch_norms) {
  if (name == "none") return [](const at::Tensor& x, const at::Tensor&) { return Update{x, x}; };
  if (name == "langevin") {
    return [c, snr, n_steps, batch_norms, name](const at::Tensor& x_in, const at::Tensor& t) {
      const at::Tensor alpha = corrector_alpha(c, t, name);
      at::Tensor x = x_in, mean = x_in;
      for (std::int64_t i = 0; i < n_steps; ++i) {
        const at::Tensor grad = c.score(x, t);
        ++*c.calls;
        const at::Tensor z = c.noise->next();
        const at::Tensor ratio = snr * norms(c, z, batch_norms) / norms(c, grad, batch_norms);
        const at::Tensor step = batch_view(ratio.square() * 2 * alpha, x);
        mean = x + step * grad;
        x = mean + (step * 2).sqrt() * z;
      }
      return Update{x, mean};
    };
  }
  if (name == "ald") {
    return [c, snr, n_steps, name](const at::Tensor& x_in, const at::Tensor& t) {
      const at::Tensor alpha = corrector_alpha(c, t, name);
      const at::Tensor std = c.sde->marginal_prob(x_in, t).std;
      at::Tensor x = x_in, mean = x_in;
      for (std::int64_t i = 0; i < n_steps; ++i) {
        const at::Tensor grad = c.score(x, t);
        ++*c.calls;
        const at::Tensor z = c.noise->next();
        const at::Tensor step = batch_view((snr * std).square() * 2 * alpha, x);
        mean = x + step * grad;
        x = mean + (step * 2).sqrt() * z;
      }
      return Update{x, mean};
    };
  }
  throw core::UsageError(
      fmt::format("sampling.corrector = '{}' is not one of langevin, ald, none", name));
}

}  // namespace sgm::eval
