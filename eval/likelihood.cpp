#include "eval/likelihood.h"

#include <cmath>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/autograd.h>

#include "eval/rk45.h"
#include "eval/sample_noise.h"
#include "trainer/core/error.h"

namespace sgm::eval {

void validate(const LikelihoodOptions& o) {
  if (o.divergence != "rademacher" && o.divergence != "gaussian" && o.divergence != "exact") {
    throw core::UsageError(fmt::format(
        "eval.bpd_divergence = '{}': expected rademacher, gaussian or exact", o.divergence));
  }
  if (o.probes < 1) throw core::UsageError("eval.bpd_probes must be >= 1");
  if (!(o.eps > 0 && o.eps < 1)) throw core::UsageError("eval.bpd_eps must lie in (0, 1)");
}

Likelihood likelihood(std::shared_ptr<const sde::SDE> sde, const sde::ScoreFn& score,
                      const at::Tensor& x, const at::Tensor& indices, std::int64_t round,
                      std::uint64_t seed, const LikelihoodOptions& o, double offset) {
  validate(o);
  const std::int64_t B = x.size(0), D = x[0].numel();
  const std::vector<std::int64_t> shape(x.sizes().begin() + 1, x.sizes().end());
  const std::shared_ptr<sde::ReverseSDE> flow = sde->reverse(score, true);
  // Probes drawn once per solve (reused at every evaluation), keyed by sample and round.
  const SampleNoise noise(seed, indices, shape, x.device());
  std::vector<at::Tensor> probes;
  if (o.divergence != "exact") {
    for (std::int64_t k = 0; k < o.probes; ++k) {
      const std::int64_t draw = round * o.probes + k;
      probes.push_back(o.divergence == "gaussian"
                           ? noise.normal(core::RngStream::kProbe, draw)
                           : noise.rademacher(core::RngStream::kProbe, draw));
    }
  }
  const SystemRhs rhs = [&](const at::Tensor& rows, const at::Tensor& t, const at::Tensor& y) {
    const c10::AutoGradMode grad_mode(true);
    std::vector<std::int64_t> s{y.size(0)};
    s.insert(s.end(), shape.begin(), shape.end());
    const at::Tensor xs = y.narrow(1, 0, D).to(at::kFloat).reshape(s).detach().requires_grad_(true);
    const at::Tensor drift = flow->sde(xs, t.to(at::kFloat)).drift;
    // div f = E_v[v . d(f . v)/dx]: one vector-Jacobian product per probe on one forward pass.
    at::Tensor divergence =
        at::zeros({y.size(0)}, at::TensorOptions().dtype(at::kDouble).device(y.device()));
    auto vjp = [&](const at::Tensor& v, bool last) {
      return torch::autograd::grad({(drift * v).sum()}, {xs}, {}, /*retain_graph=*/!last)[0];
    };
    if (o.divergence == "exact") {
      for (std::int64_t d = 0; d < D; ++d) {
        const at::Tensor e = at::zeros_like(xs)
                                 .view({y.size(0), D})
                                 .index_fill_(1, at::tensor({d}, at::kLong).to(y.device()), 1)
                                 .view(s);
        divergence += vjp(e, d + 1 == D).view({y.size(0), D}).select(1, d).to(at::kDouble);
      }
    } else {
      for (std::size_t k = 0; k < probes.size(); ++k) {
        const at::Tensor v = probes[k].index_select(0, rows);
        divergence +=
            (vjp(v, k + 1 == probes.size()) * v).reshape({y.size(0), -1}).sum(1).to(at::kDouble);
      }
      divergence /= static_cast<double>(probes.size());
    }
    return at::cat(
        {drift.detach().reshape({y.size(0), D}).to(at::kDouble), divergence.unsqueeze(1)}, 1);
  };
  Rk45Options ro;
  ro.rtol = o.rtol;
  ro.atol = o.atol;
  const at::Tensor y0 =
      at::cat({x.detach().to(at::kDouble).reshape({B, D}),
               at::zeros({B, 1}, at::TensorOptions().dtype(at::kDouble).device(x.device()))},
              1);
  const Rk45Result r = solve_rk45(rhs, o.eps, sde->T(), y0, ro);
  for (std::size_t i = 0; i < r.failure.size(); ++i) {
    if (!r.failure[i].empty())
      throw core::Error(fmt::format("likelihood ODE failed for sample {}: {}",
                                    indices[static_cast<std::int64_t>(i)].item<std::int64_t>(),
                                    r.failure[i]));
  }
  Likelihood out;
  std::vector<std::int64_t> full{B};
  full.insert(full.end(), shape.begin(), shape.end());
  out.z = r.y.narrow(1, 0, D).reshape(full);
  out.delta_logp = r.y.select(1, D).clone();
  out.prior_logp = sde->prior_logp(out.z).to(at::kDouble);
  out.bpd = -(out.prior_logp + out.delta_logp) / (static_cast<double>(D) * std::log(2.0)) + offset;
  out.nfe = r.nfev;
  return out;
}

}  // namespace sgm::eval
