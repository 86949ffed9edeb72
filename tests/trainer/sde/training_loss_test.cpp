// The training-loss factory: for each objective it picks (continuous DSM for VE, VP and sub-VP;
// SMLD for VE and DDPM for VP in discrete time) the loss equals the loss function called with
// the times or labels drawn by hand from the counter-based RNG at the samples' positions, bit
// for bit; discrete sub-VP is refused naming the key.
#include "trainer/sde/training_loss.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "trainer/core/error.h"
#include "trainer/sde/losses.h"
#include "trainer/sde/registry.h"

namespace sgm::sde {
namespace {

const ModelFn kNet = [](const at::Tensor& x, const at::Tensor& labels) {
  return x.mul(-0.7).add(labels.to(x.scalar_type()).view({-1, 1, 1, 1}).mul(1e-3));
};

TEST(TrainingLoss, EachObjectiveDrawsItsTimesOrLabelsFromTheSamplesPositions) {
  const core::CounterRng rng(11);
  const at::Tensor positions = at::arange(1000, 1006, at::kLong);
  const at::Tensor x = rng.normal(positions, 12, core::RngStream::kTest).view({6, 3, 2, 2});
  const at::Tensor z = rng.normal(positions, 12, core::RngStream::kNoise).view({6, 3, 2, 2});
  for (const char* name : {"vesde", "vpsde", "subvpsde"}) {
    SdeOptions so;
    so.name = name;
    so.num_scales = 10;
    const std::shared_ptr<SDE> sde = make_sde(so);
    for (const bool lw : {false, true}) {
      const TrainingLoss loss = make_training_loss(sde, true, {false, lw}, rng);
      const at::Tensor t =
          training_time(rng.uniform(positions, 1, core::RngStream::kTime).view({-1}), *sde);
      const at::Tensor expected = sde_loss(*sde, get_score_fn(sde, kNet, true), x, t, z, false, lw);
      EXPECT_TRUE(sgm::testing::tensors_equal(std::string(name) + " continuous",
                                              loss(kNet, x, z, positions), expected));
    }
  }
  const at::Tensor labels =
      rng.words(positions, 1, core::RngStream::kLabel).view({-1}).remainder(1000);
  SdeOptions ve{"vesde"};  // 1,000 levels, as the labels
  const auto vesde = std::dynamic_pointer_cast<const VESDE>(make_sde(ve));
  EXPECT_TRUE(sgm::testing::tensors_equal(
      "vesde discrete (SMLD)",
      make_training_loss(vesde, false, {true, false}, rng)(kNet, x, z, positions),
      smld_loss(*vesde, kNet, x, labels, z, true)));
  SdeOptions vp{"vpsde"};
  const auto vpsde = std::dynamic_pointer_cast<const VPSDE>(make_sde(vp));
  EXPECT_TRUE(sgm::testing::tensors_equal(
      "vpsde discrete (DDPM)",
      make_training_loss(vpsde, false, {true, false}, rng)(kNet, x, z, positions),
      ddpm_loss(*vpsde, kNet, x, labels, z, true)));
}

TEST(TrainingLoss, DiscreteSubVpIsRefused) {
  try {
    make_training_loss(make_sde({"subvpsde"}), false, {false, false}, core::CounterRng(1));
    FAIL() << "discrete sub-VP training was accepted";
  } catch (const core::UsageError& e) {
    std::printf("[evidence] %s\n", e.what());
    EXPECT_NE(std::string(e.what()).find("training.continuous"), std::string::npos);
  }
}

}  // namespace
}  // namespace sgm::sde
