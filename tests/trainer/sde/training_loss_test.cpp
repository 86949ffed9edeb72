// The training-loss factory: for each objective it picks (continuous DSM for VE, VP and sub-VP;
// SMLD for VE and DDPM for VP in discrete time; ISM, SSM and SSM-VR on the perturbed sample) the
// loss equals the loss function called with the times, labels and projections drawn by hand
// from the counter-based RNG at the samples' positions, bit for bit, and per sample (a batch in
// halves gives the same); discrete sub-VP, and ISM/SSM in discrete time, are refused naming the
// key.
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

// A network whose output couples the dimensions of a sample (so the Jacobian is not diagonal),
// never the samples of a batch.
const ModelFn kCoupledNet = [](const at::Tensor& x, const at::Tensor& labels) {
  const at::Tensor mixed = x.tanh().sum({1, 2, 3}, true).mul(0.1);
  return x.mul(-0.7).add(mixed).add(labels.to(x.scalar_type()).view({-1, 1, 1, 1}).mul(1e-3));
};

TEST(TrainingLoss, ImplicitAndSlicedObjectivesOnThePerturbedSampleWithKeyedProjections) {
  const core::CounterRng rng(11);
  const at::Tensor positions = at::arange(2000, 2006, at::kLong);
  const at::Tensor x = rng.normal(positions, 12, core::RngStream::kTest).view({6, 3, 2, 2});
  const at::Tensor z = rng.normal(positions, 12, core::RngStream::kNoise).view({6, 3, 2, 2});
  for (const char* name : {"vesde", "vpsde"}) {
    SdeOptions so;
    so.name = name;
    const std::shared_ptr<SDE> sde = make_sde(so);
    const at::Tensor t =
        training_time(rng.uniform(positions, 1, core::RngStream::kTime).view({-1}), *sde);
    const MeanStd m = sde->marginal_prob(x, t);
    const at::Tensor perturbed = m.mean + batch_view(m.std, x) * z;
    const ScoreFn score = get_score_fn(sde, kCoupledNet, true);
    const auto s = [&](const at::Tensor& y) { return score(y, t); };
    const at::Tensor u = rng.uniform(positions, 2 * 12, core::RngStream::kProjection);
    const at::Tensor signs = u.lt(0.5).to(at::kFloat).mul(2).sub(1).view({6, 2, 12});
    const std::vector<at::Tensor> probes = {signs.select(1, 0).view({6, 3, 2, 2}),
                                            signs.select(1, 1).view({6, 3, 2, 2})};
    const at::Tensor lambda = m.std.square();
    struct Case {
      const char* objective;
      at::Tensor expected;
    };
    const std::vector<Case> cases = {
        {"ism", implicit_score_matching(s, perturbed).mul(lambda)},
        {"ssm", sliced_score_matching(s, perturbed, probes, false).mul(lambda)},
        {"ssm_vr", sliced_score_matching(s, perturbed, probes, true).mul(lambda)},
    };
    for (const Case& c : cases) {
      TrainingLossOptions o;
      o.objective = c.objective;
      o.projections = 2;
      const TrainingLoss loss = make_training_loss(sde, true, o, rng);
      const at::Tensor whole = loss(kCoupledNet, x, z, positions);
      EXPECT_TRUE(sgm::testing::tensors_equal(std::string(name) + " " + c.objective, whole, c.expected));
      // Per sample: the two halves of the batch (two ranks, or two micro-batches) alone.
      const at::Tensor halves = at::cat({loss(kCoupledNet, x.narrow(0, 0, 3), z.narrow(0, 0, 3), positions.narrow(0, 0, 3)),
                                         loss(kCoupledNet, x.narrow(0, 3, 3), z.narrow(0, 3, 3), positions.narrow(0, 3, 3))});
      EXPECT_TRUE(sgm::testing::tensors_equal(std::string(name) + " " + c.objective + ", halves", halves, whole));
      // Differentiable (the Jacobian term keeps its graph), so the step can back-propagate it.
      EXPECT_TRUE(whole.requires_grad()) << c.objective;
    }
  }
}

TEST(TrainingLoss, ObjectivesOtherThanDsmAreRefusedInDiscreteTimeAndByName) {
  for (const char* objective : {"ism", "ssm", "sliced"}) {
    TrainingLossOptions o;
    o.objective = objective;
    const bool known = std::string(objective) != "sliced";
    try {
      make_training_loss(make_sde({"vesde"}), !known, o, core::CounterRng(1));
      FAIL() << objective << " was accepted";
    } catch (const core::UsageError& e) {
      std::printf("[evidence] %s\n", e.what());
      EXPECT_NE(std::string(e.what()).find("training.loss"), std::string::npos);
    }
  }
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
