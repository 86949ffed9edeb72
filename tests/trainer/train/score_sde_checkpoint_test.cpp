// Checkpoints of score_sde_pytorch in and out, on every fixture case ($SGM_FIXTURES/score_sde):
// its .pth imports into an sgm checkpoint whose model reproduces /forward/out, whose EMA is the
// file's shadow (equal to the weights in these files) under the right names, with zero Adam
// moments; the /params HDF5 imports to the same weights; the torch.save export reads back
// (through sgm's own unpickler) to exactly the imported tensors. Mismatches are refused naming
// the key.
#include "trainer/train/score_sde_checkpoint.h"

#include <filesystem>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "tests/support/score_sde_fixture.h"
#include "trainer/core/error.h"
#include "trainer/models/registry.h"

namespace sgm::train {
namespace {
namespace fs = std::filesystem;

double max_diff(const core::NamedTensors& a, const core::NamedTensors& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_EQ(a[i].second.sizes(), b[i].second.sizes()) << a[i].first;
    if (a[i].second.sizes() != b[i].second.sizes()) return INFINITY;
    worst = std::max(
        worst,
        (a[i].second.to(at::kDouble) - b[i].second.to(at::kDouble)).abs().max().item<double>());
  }
  return worst;
}

core::NamedTensors by_name(const core::NamedTensors& from, const core::NamedTensors& names) {
  core::NamedTensors out;
  for (const auto& [name, unused] : names) {
    for (const auto& [key, value] : from) {
      if (key == name) out.emplace_back(key, value);
    }
  }
  return out;
}

TEST(ScoreSdeCheckpoint, EveryFixtureImportsExportsAndReimportsExactly) {
  const fs::path tmp = fs::temp_directory_path() / ("sgm-score-sde-" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  for (const std::string& path : sgm::testing::fixture_files("score_sde")) {
    const data::NamedArrayFile file(path);
    const sgm::testing::ScoreSdeCase c = sgm::testing::read_score_sde_case(file);
    const std::string pth = fs::path(path).replace_extension(".pth").string();
    auto model = models::make_model(c.model, c.data, c.sde);
    const Checkpoint imported = import_score_sde(pth, *model);
    model->eval();
    at::NoGradGuard no_grad;
    const at::Tensor out = model->forward(file.read("forward/x"), file.read("forward/labels"));
    const at::Tensor ref = file.read("forward/out");
    EXPECT_TRUE(sgm::testing::tensors_close(c.name + " forward of the import", out, ref,
                                            1e-4 * ref.abs().max().item<double>()));
    // These files were saved before any step: the shadow equals the weights, name by name (a
    // shadow matched to the wrong parameters would differ).
    const double ema_vs_weights = max_diff(imported.ema, by_name(imported.model, imported.ema));
    double moments = 0;
    for (const auto& [name, m] : imported.exp_avg) moments += m.abs().sum().item<double>();
    std::printf(
        "[evidence] %s: %zu weights, %zu EMA (max |ema - weights| %g), step %lld, "
        "Adam steps %lld, sum |exp_avg| %g\n",
        c.name.c_str(), imported.model.size(), imported.ema.size(), ema_vs_weights,
        static_cast<long long>(imported.state.step),
        static_cast<long long>(imported.state.adam_steps), moments);
    EXPECT_EQ(ema_vs_weights, 0.0);
    EXPECT_EQ(moments, 0.0);
    EXPECT_EQ(imported.exp_avg.size(), imported.ema.size());

    // The /params file: the same weights.
    auto from_h5 = models::make_model(c.model, c.data, c.sde);
    const Checkpoint h5 = import_score_sde(path, *from_h5);
    const double h5_diff = max_diff(h5.model, imported.model);
    std::printf("[evidence] %s: /params import vs .pth import max abs diff %g\n", c.name.c_str(),
                h5_diff);
    EXPECT_EQ(h5_diff, 0.0);

    // torch.save export -> import: every tensor and counter as it was.
    Checkpoint stepped = imported;
    stepped.state.step = 1234;
    stepped.state.adam_steps = 17;
    stepped.state.ema_updates = 17;
    for (auto& [name, m] : stepped.exp_avg) m = at::randn_like(m);
    for (auto& [name, v] : stepped.exp_avg_sq) v = at::rand_like(v);
    for (auto& [name, e] : stepped.ema) e = at::randn_like(e);
    const std::string out_pth = (tmp / (c.name + ".pth")).string();
    export_score_sde(stepped, *model, AdamOptions{}, 0.999, out_pth);
    auto again = models::make_model(c.model, c.data, c.sde);
    const Checkpoint back = import_score_sde(out_pth, *again);
    const double diffs[] = {max_diff(back.model, stepped.model), max_diff(back.ema, stepped.ema),
                            max_diff(back.exp_avg, stepped.exp_avg),
                            max_diff(back.exp_avg_sq, stepped.exp_avg_sq)};
    std::printf(
        "[evidence] %s: export -> import max abs diff: model %g, ema %g, exp_avg %g, "
        "exp_avg_sq %g; step %lld, Adam steps %lld\n",
        c.name.c_str(), diffs[0], diffs[1], diffs[2], diffs[3],
        static_cast<long long>(back.state.step), static_cast<long long>(back.state.adam_steps));
    for (double d : diffs) EXPECT_EQ(d, 0.0);
    EXPECT_EQ(back.state.step, 1234);
    EXPECT_EQ(back.state.adam_steps, 17);
    EXPECT_EQ(back.state.ema_updates, 17);
  }
  fs::remove_all(tmp);
}

TEST(ScoreSdeCheckpoint, RefusesAnotherArchitectureOrNoiseScheduleNamingTheFile) {
  int schedules = 0;
  for (const std::string& path : sgm::testing::fixture_files("score_sde")) {
    const data::NamedArrayFile file(path);
    const sgm::testing::ScoreSdeCase c = sgm::testing::read_score_sde_case(file);
    const std::string pth = fs::path(path).replace_extension(".pth").string();
    const auto message = [&](const models::ModelOptions& m, const core::SdeOptions& s) {
      auto model = models::make_model(m, c.data, s);
      try {
        import_score_sde(pth, *model);
      } catch (const core::UsageError& e) {
        std::printf("[evidence] %s: %s\n", c.name.c_str(), e.what());
        return std::string(e.what());
      }
      return std::string("accepted");
    };
    models::ModelOptions wider = c.model;
    wider.nf = c.model.nf * 2;
    const std::string shape = message(wider, c.sde);
    EXPECT_NE(shape.find(pth), std::string::npos);
    EXPECT_NE(shape.find("of another shape"), std::string::npos);
    // Where the network keeps its noise levels (NCSN++'s sigmas), another schedule is refused.
    if (!models::make_model(c.model, c.data, c.sde)->named_buffers().is_empty()) {
      core::SdeOptions other = c.sde;
      other.sigma_max = c.sde.sigma_max * 2;
      other.beta_max = c.sde.beta_max * 2;
      EXPECT_NE(message(c.model, other).find("differs from what the configuration gives"),
                std::string::npos);
      ++schedules;
    }
  }
  EXPECT_GT(schedules, 0) << "no fixture keeps a noise-level buffer";
}

}  // namespace
}  // namespace sgm::train
