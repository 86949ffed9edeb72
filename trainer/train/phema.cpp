#include "trainer/train/phema.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "trainer/core/error.h"

namespace sgm::train {

double phema_sigma_rel(double gamma) {
  return std::sqrt((gamma + 1) / ((gamma + 2) * (gamma + 2) * (gamma + 3)));
}

double phema_gamma(double sigma_rel) {
  // sigma_rel(gamma) decreases on gamma >= 0 from sigma_rel(0) = 1/sqrt(12) ~ 0.2887 to 0.
  if (!(sigma_rel > 0 && sigma_rel < phema_sigma_rel(0))) {
    throw core::UsageError(fmt::format(
        "training.phema_sigma_rel: {} is not in (0, {:.4f}) (a power profile's relative width)",
        sigma_rel, phema_sigma_rel(0)));
  }
  double lo = 0, hi = 1;
  while (phema_sigma_rel(hi) > sigma_rel) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-14 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (phema_sigma_rel(mid) > sigma_rel ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double phema_beta(double gamma, std::int64_t t) {
  SGM_CHECK(t >= 1, "phema_beta: update {} (the first is 1)", t);
  return std::pow(1.0 - 1.0 / static_cast<double>(t), gamma + 1);
}

PhemaProfiles::PhemaProfiles(const std::vector<at::Tensor>& params, dist::Communicator& comm,
                             const PhemaOptions& options, bool sharded) {
  EmaOptions ema;
  ema.warmup = false;
  ema.sharded = sharded;
  for (double s : options.sigma_rels) {
    gammas_.push_back(phema_gamma(s));
    profiles_.emplace_back(params, comm, ema);
  }
}

void PhemaProfiles::update(const std::vector<at::Tensor>& params) {
  ++updates_;
  for (std::size_t k = 0; k < profiles_.size(); ++k)
    profiles_[k].update(params, phema_beta(gammas_[k], updates_));
}

std::vector<std::vector<at::Tensor>> PhemaProfiles::gather() const {
  std::vector<std::vector<at::Tensor>> out;
  for (const Ema& e : profiles_) out.push_back(e.gather());
  return out;
}

void PhemaProfiles::load(const std::vector<std::vector<at::Tensor>>& full) {
  SGM_CHECK(full.size() == profiles_.size(), "post-hoc EMA: {} profiles given, {} kept",
            full.size(), profiles_.size());
  for (std::size_t k = 0; k < full.size(); ++k) profiles_[k].load(full[k]);
}

double phema_dot(const PhemaProfile& a, const PhemaProfile& b) {
  // p(tau) = (g + 1) tau^g / t^(g + 1) on [0, t]: the integral of p_a p_b up to min(t_a, t_b).
  const double lo = std::min(a.t, b.t), g = a.gamma + b.gamma + 1;
  return (a.gamma + 1) * (b.gamma + 1) / g *
         std::exp(g * std::log(lo) - (a.gamma + 1) * std::log(a.t) - (b.gamma + 1) * std::log(b.t));
}

std::vector<double> phema_coefficients(const std::vector<PhemaProfile>& stored,
                                       const PhemaProfile& target) {
  const auto n = static_cast<std::int64_t>(stored.size());
  SGM_CHECK(n >= 1, "post-hoc EMA: no stored profiles");
  at::Tensor a = at::empty({n, n}, at::kDouble), b = at::empty({n, 1}, at::kDouble);
  auto A = a.accessor<double, 2>();
  auto B = b.accessor<double, 2>();
  for (std::int64_t i = 0; i < n; ++i) {
    B[i][0] = phema_dot(stored[static_cast<std::size_t>(i)], target);
    for (std::int64_t j = 0; j < n; ++j)
      A[i][j] = phema_dot(stored[static_cast<std::size_t>(i)], stored[static_cast<std::size_t>(j)]);
  }
  const at::Tensor x = at::linalg_solve(a, b).reshape({-1}).contiguous();
  return {x.data_ptr<double>(), x.data_ptr<double>() + n};
}

PhemaReconstruction reconstruct_phema(const CheckpointStore& store, const Checkpoint& last,
                                      double sigma_rel) {
  if (last.state.phema_sigma_rels.empty()) {
    throw core::UsageError(last.path +
                           ": no post-hoc EMA profiles (train with training.phema = true)");
  }
  PhemaReconstruction r;
  try {
    r.gamma = phema_gamma(sigma_rel);
  } catch (const core::UsageError&) {
    throw core::UsageError(
        fmt::format("--sigma-rel: {} is not in (0, {:.4f})", sigma_rel, phema_sigma_rel(0)));
  }
  // Which checkpoints: the snapshots before `last` that kept the same profiles, then `last`.
  std::vector<std::string> dirs;
  std::vector<std::int64_t> updates;
  for (std::int64_t step : store.snapshot_steps()) {
    if (step >= last.state.step) continue;
    const std::string dir = store.path_of("snapshot", step);
    const TrainingState s = CheckpointStore::load_state(dir);
    if (s.phema_sigma_rels != last.state.phema_sigma_rels || s.phema_updates <= 0) continue;
    dirs.push_back(dir);
    r.steps.push_back(step);
    updates.push_back(s.phema_updates);
  }
  r.steps.push_back(last.state.step);
  updates.push_back(last.state.phema_updates);
  for (std::int64_t t : updates)
    for (double s : last.state.phema_sigma_rels)
      r.profiles.push_back({static_cast<double>(t), phema_gamma(s)});
  r.coefficients =
      phema_coefficients(r.profiles, {static_cast<double>(last.state.phema_updates), r.gamma});
  // sum_i x_i profile_i, by parameter name, in float64.
  std::map<std::string, at::Tensor> sum;
  std::size_t i = 0;
  auto add = [&](const Checkpoint& c) {
    for (const core::NamedTensors& profile : c.phema) {
      const double x = r.coefficients[i++];
      for (const auto& [name, tensor] : profile) {
        const at::Tensor term = tensor.to(at::kDouble) * x;
        auto it = sum.find(name);
        if (it == sum.end())
          sum.emplace(name, term);
        else
          it->second.add_(term);
      }
    }
  };
  for (const std::string& dir : dirs) add(CheckpointStore::load(dir));
  add(last);
  r.checkpoint = last;
  for (auto& [name, tensor] : r.checkpoint.ema) {
    const auto it = sum.find(name);
    if (it == sum.end())
      throw core::UsageError(fmt::format("{}: no post-hoc EMA profile of {}", last.path, name));
    tensor = it->second.to(tensor.dtype());
  }
  r.checkpoint.phema.clear();
  r.checkpoint.state.phema_sigma_rels.clear();
  r.checkpoint.state.phema_updates = 0;
  return r;
}

}  // namespace sgm::train
