#include "trainer/sde/training_loss.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "trainer/core/error.h"
#include "trainer/core/key_checks.h"
#include "trainer/sde/losses.h"

namespace sgm::sde {

void TrainingLossOptions::declare_keys(core::Keys& k) {
  k("training.likelihood_weighting", likelihood_weighting,
    "weight the DSM loss by g(t)^2 (Song et al. 2021b)");
  k("training.reduce_mean", reduce_mean,
    "average the per-sample loss over dimensions (else 0.5 * sum)");
  k("training.loss", objective, core::entry_names(objective_registry()));
  k("training.ssm_projections", projections,
    "ssm, ssm_vr: random projections per sample (one vector-Jacobian product each)");
  k("training.ssm_probe", probe, "ssm, ssm_vr: rademacher | gaussian projections");
  k("training.ism_max_dims", ism_max_dims,
    "ism: the largest data dimension accepted (the exact trace takes one backward pass per "
    "dimension)");
}

const std::vector<ObjectiveEntry>& objective_registry() {
  using Score = std::function<at::Tensor(const at::Tensor&)>;
  using Probes = std::vector<at::Tensor>;
  static const std::vector<ObjectiveEntry> table = {
      {"dsm", "denoising score matching (score_sde's loss; SMLD/DDPM in discrete time)", false,
       false, nullptr},
      {"ism", "implicit score matching, exact trace (low-dimensional data)", false, true,
       [](const Score& s, const at::Tensor& x, const Probes&) {
         return implicit_score_matching(s, x);
       }},
      {"ssm", "sliced score matching", true, false,
       [](const Score& s, const at::Tensor& x, const Probes& v) {
         return sliced_score_matching(s, x, v, false);
       }},
      {"ssm_vr", "sliced score matching, variance-reduced", true, false,
       [](const Score& s, const at::Tensor& x, const Probes& v) {
         return sliced_score_matching(s, x, v, true);
       }},
  };
  return table;
}

namespace {

// training.ssm_projections probes per sample, keyed by its position: K tensors of x's shape.
std::vector<at::Tensor> probes_of(const core::CounterRng& rng, const at::Tensor& positions,
                                  const at::Tensor& x, const TrainingLossOptions& o) {
  const std::int64_t batch = x.size(0);
  const std::int64_t dims = x.numel() / batch;
  at::Tensor draws;
  if (o.probe == "gaussian") {
    draws = rng.normal(positions, o.projections * dims, core::RngStream::kProjection);
  } else {
    draws = rng.uniform(positions, o.projections * dims, core::RngStream::kProjection)
                .lt(0.5)
                .to(at::kFloat)
                .mul(2)
                .sub(1);
  }
  draws = draws.to(x.device(), x.scalar_type()).view({batch, o.projections, dims});
  std::vector<at::Tensor> out;
  for (std::int64_t k = 0; k < o.projections; ++k)
    out.push_back(draws.select(1, k).view(x.sizes()));
  return out;
}

}  // namespace

TrainingLoss make_training_loss(std::shared_ptr<const SDE> sde, bool continuous,
                                const TrainingLossOptions& o, const core::CounterRng& rng) {
  const ObjectiveEntry& objective =
      core::registered("training.loss", o.objective, objective_registry());
  if (objective.per_example && !continuous) {
    throw core::UsageError(fmt::format(
        "training.loss = {} needs training.continuous = true (in discrete time only dsm: SMLD or "
        "DDPM)",
        objective.name));
  }
  if (objective.probes && o.projections < 1) {
    throw core::UsageError(fmt::format("training.ssm_projections = {}: at least 1", o.projections));
  }
  if (objective.probes && o.probe != "rademacher" && o.probe != "gaussian") {
    throw core::UsageError(
        fmt::format("training.ssm_probe = '{}': expected rademacher or gaussian", o.probe));
  }
  const auto times = [sde, rng](const at::Tensor& positions, const at::Device& device) {
    const at::Tensor u = rng.uniform(positions, 1, core::RngStream::kTime).view({-1});
    return training_time(u.to(device), *sde);
  };
  if (!objective.per_example && continuous) {
    return [sde, o, times](const ModelFn& net, const at::Tensor& x, const at::Tensor& z,
                           const at::Tensor& positions) {
      return sde_loss(*sde, get_score_fn(sde, net, true), x, times(positions, x.device()), z,
                      o.reduce_mean, o.likelihood_weighting);
    };
  }
  if (objective.per_example) {
    const ObjectiveEntry entry = objective;
    return [sde, o, rng, times, entry](const ModelFn& net, const at::Tensor& x, const at::Tensor& z,
                                       const at::Tensor& positions) {
      const std::int64_t dims = x.numel() / x.size(0);
      if (entry.exact_trace && dims > o.ism_max_dims) {
        throw core::UsageError(fmt::format(
            "training.loss = {}: the exact trace takes one backward pass per dimension, and the "
            "data have {} (training.ism_max_dims = {}); use ssm or ssm_vr",
            entry.name, dims, o.ism_max_dims));
      }
      const at::Tensor t = times(positions, x.device());
      const MeanStd m = sde->marginal_prob(x, t);
      const at::Tensor perturbed = m.mean.add(batch_view(m.std, x).mul(z));
      const ScoreFn score = get_score_fn(sde, net, true);
      const auto s = [&score, &t](const at::Tensor& y) { return score(y, t); };
      at::Tensor per = entry.per_example(
          s, perturbed, entry.probes ? probes_of(rng, positions, x, o) : std::vector<at::Tensor>{});
      if (o.reduce_mean) per = per.mul(2.0 / static_cast<double>(dims));
      const at::Tensor weight = o.likelihood_weighting
                                    ? sde->sde(at::zeros_like(x), t).diffusion.square()
                                    : m.std.square();
      return per.mul(weight);
    };
  }
  const auto labels = [sde, rng](const at::Tensor& positions, const at::Device& device) {
    return rng.words(positions, 1, core::RngStream::kLabel)
        .view({-1})
        .remainder(sde->N())
        .to(device);
  };
  if (!sde->has_discrete_form())
    throw core::UsageError("training.continuous = false needs vesde (SMLD) or vpsde (DDPM)");
  // SMLD for VE, DDPM for VP.
  return [sde, o, labels](const ModelFn& net, const at::Tensor& x, const at::Tensor& z,
                          const at::Tensor& positions) {
    return sde->discrete_loss(net, x, labels(positions, x.device()), z, o.reduce_mean);
  };
}

}  // namespace sgm::sde
