// Post-hoc EMA: the exponent of a width and back; the tracked profile's weights have the width
// they claim (the std of tau/t, from the EMA of tau/t and (tau/t)^2); on a synthetic parameter
// trajectory the reconstruction of sigma_rel = 0.075 from stored 0.05 and 0.10 snapshots matches
// the directly tracked 0.075 profile; a stored width reconstructs to itself; the profiles go
// through a checkpoint and back.
#include "trainer/train/phema.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "trainer/core/error.h"
#include "trainer/dist/communicator.h"
#include "trainer/dist/context.h"

namespace sgm::train {
namespace {
namespace fs = std::filesystem;

struct Local {
  Local() : context(options()), comm(context) {}
  static dist::ContextOptions options() {
    dist::ContextOptions c;
    c.device = "cpu";
    return c;
  }
  dist::Context context;
  dist::Communicator comm;
};

TEST(Phema, ExponentAndWidthAreInverse) {
  for (double s : {0.01, 0.05, 0.075, 0.10, 0.2}) {
    const double g = phema_gamma(s);
    std::printf("[evidence] sigma_rel %.3f: gamma %.6f, back %.3e off\n", s, g,
                std::abs(phema_sigma_rel(g) - s));
    EXPECT_NEAR(phema_sigma_rel(g), s, 1e-12);
  }
  // edm2's pair: sigma_rel 0.05 and 0.10 are gamma 16.97 and 6.94.
  EXPECT_NEAR(phema_gamma(0.05), 16.97, 0.01);
  EXPECT_NEAR(phema_gamma(0.10), 6.94, 0.01);
  EXPECT_THROW(phema_gamma(0.3), core::UsageError);
  EXPECT_THROW(phema_gamma(0), core::UsageError);
}

TEST(Phema, TrackedProfilesHaveTheirWidth) {
  // theta_tau = (tau / T, (tau / T)^2): the profile's EMA is then E[u] and E[u^2] of u = tau / T
  // under its weights, so its std is sqrt(E[u^2] - E[u]^2), which must be sigma_rel.
  Local local;
  PhemaOptions o;
  o.sigma_rels = {0.05, 0.10, 0.20};
  const std::int64_t T = 20000;
  std::vector<at::Tensor> params = {at::zeros({2}, at::kDouble)};
  PhemaProfiles profiles(params, local.comm, o, false);
  for (std::int64_t tau = 1; tau <= T; ++tau) {
    const double u = static_cast<double>(tau) / static_cast<double>(T);
    params[0][0] = u;
    params[0][1] = u * u;
    profiles.update(params);
  }
  const auto ema = profiles.gather();
  for (std::size_t k = 0; k < o.sigma_rels.size(); ++k) {
    const double m1 = ema[k][0][0].item<double>(), m2 = ema[k][0][1].item<double>();
    const double width = std::sqrt(m2 - m1 * m1);
    const double gamma = profiles.gammas()[k];
    std::printf(
        "[evidence] profile sigma_rel %.2f (gamma %.3f) after %ld updates: mean of tau/t %.6f "
        "(exact %.6f), std %.6f\n",
        o.sigma_rels[k], gamma, T, m1, (gamma + 1) / (gamma + 2), width);
    EXPECT_NEAR(width, o.sigma_rels[k], 1e-3 * o.sigma_rels[k]);
    EXPECT_NEAR(m1, (gamma + 1) / (gamma + 2), 1e-4);
  }
}

TEST(Phema, ReconstructsAnUnstoredWidthFromSnapshots) {
  // A trajectory that keeps moving (drift plus oscillations of several periods, per element), so
  // EMAs of different widths differ; 0.05 and 0.10 stored every 100 of 4000 steps, 0.075
  // tracked directly as the exact answer.
  Local local;
  PhemaOptions stored_options, direct_options;
  direct_options.sigma_rels = {0.075};
  const std::int64_t T = 4000, every = 100, D = 64;
  const at::Tensor phase = at::linspace(0, 6, D, at::kDouble);
  const at::Tensor freq = at::linspace(1, 8, D, at::kDouble);
  std::vector<at::Tensor> params = {at::zeros({D}, at::kDouble)};
  PhemaProfiles stored(params, local.comm, stored_options, false);
  PhemaProfiles direct(params, local.comm, direct_options, false);
  std::vector<PhemaProfile> basis;
  std::vector<at::Tensor> snapshots;
  for (std::int64_t tau = 1; tau <= T; ++tau) {
    const double u = static_cast<double>(tau) / static_cast<double>(T);
    params[0].copy_(at::sin(freq * (6.283185307179586 * u) + phase) + 2 * u * u);
    stored.update(params);
    direct.update(params);
    if (tau % every == 0) {
      const auto g = stored.gather();
      for (std::size_t k = 0; k < g.size(); ++k) {
        basis.push_back({static_cast<double>(tau), stored.gammas()[k]});
        snapshots.push_back(g[k][0].clone());
      }
    }
  }
  const std::vector<double> x =
      phema_coefficients(basis, {static_cast<double>(T), phema_gamma(0.075)});
  at::Tensor reconstruction = at::zeros({D}, at::kDouble);
  for (std::size_t i = 0; i < x.size(); ++i) reconstruction += snapshots[i] * x[i];
  const at::Tensor exact = direct.gather()[0][0];
  const at::Tensor at_005 = stored.gather()[0][0], at_010 = stored.gather()[1][0];
  const double err = (reconstruction - exact).norm().item<double>();
  const double rel = err / exact.norm().item<double>();
  const double rel_spread = err / (at_005 - at_010).norm().item<double>();
  std::printf(
      "[evidence] sigma_rel 0.075 from %zu stored profiles (0.05, 0.10 every %ld steps): |recon - "
      "tracked| / |tracked| = %.2e (tolerance 1e-3), / |ema_0.05 - ema_0.10| = %.2e\n",
      basis.size(), every, rel, rel_spread);
  EXPECT_LT(rel, 1e-3);
  EXPECT_LT(rel_spread, 1e-2);

  // A stored width reconstructs to the stored profile.
  const std::vector<double> same =
      phema_coefficients(basis, {static_cast<double>(T), stored.gammas()[1]});
  at::Tensor back = at::zeros({D}, at::kDouble);
  for (std::size_t i = 0; i < same.size(); ++i) back += snapshots[i] * same[i];
  const double self = (back - at_010).norm().item<double>() / at_010.norm().item<double>();
  std::printf("[evidence] sigma_rel 0.10 (stored) reconstructed: relative difference %.2e\n", self);
  EXPECT_LT(self, 1e-6);
}

TEST(Phema, ProfilesGoThroughACheckpoint) {
  const fs::path dir = fs::temp_directory_path() / "sgm_phema_checkpoint";
  fs::remove_all(dir);
  Checkpoint c;
  c.state.step = 7;
  c.state.phema_sigma_rels = {0.05, 0.10};
  c.state.phema_updates = 7;
  c.model = {{"w", at::randn({3})}};
  c.ema = {{"w", at::randn({3})}};
  c.exp_avg = {{"w", at::zeros({3})}};
  c.exp_avg_sq = {{"w", at::zeros({3})}};
  c.phema = {{{"w", at::randn({3})}}, {{"w", at::randn({3})}}};
  CheckpointStore store(dir.string(), 1);
  const std::string path = store.save("snapshot", c);
  const Checkpoint back = CheckpointStore::load(path);
  ASSERT_EQ(back.phema.size(), 2u);
  EXPECT_EQ(back.state.phema_sigma_rels, c.state.phema_sigma_rels);
  EXPECT_EQ(back.state.phema_updates, 7);
  for (std::size_t k = 0; k < 2; ++k)
    EXPECT_TRUE(at::equal(back.phema[k][0].second, c.phema[k][0].second));
  EXPECT_EQ(CheckpointStore::load_state(path).phema_updates, 7);
  // Without profiles: no phema entry at all.
  c.state.step = 8;
  c.state.phema_sigma_rels.clear();
  c.phema.clear();
  const Checkpoint plain = CheckpointStore::load(store.save("snapshot", c));
  EXPECT_TRUE(plain.phema.empty());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sgm::train
