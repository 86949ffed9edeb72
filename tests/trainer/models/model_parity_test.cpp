// model_parity: for every score_sde fixture ($SGM_FIXTURES/score_sde/*.h5), build the model
// from its config_json, load /params by reference name, and compare /forward/out,
// /score/out and every /loss/* with max|ours - ref| <= 1e-4 max|ref| per tensor (models.md §13).
#include <filesystem>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "tests/support/score_sde_fixture.h"
#include "trainer/models/reference_import.h"
#include "trainer/models/registry.h"
#include "trainer/models/torch_checkpoint.h"
#include "trainer/sde/losses.h"
#include "trainer/sde/score_fn.h"

namespace sgm::models {
namespace {

constexpr double kRelativeTolerance = 1e-4;

::testing::AssertionResult matches(const std::string& what, const at::Tensor& ours,
                                   const at::Tensor& ref) {
  const double scale = ref.abs().max().item<double>();
  return sgm::testing::tensors_close(what, ours, ref, kRelativeTolerance * scale);
}

void check_case(const std::string& path) {
  data::NamedArrayFile file(path);
  const sgm::testing::ScoreSdeCase c = sgm::testing::read_score_sde_case(file);
  std::printf("[case] %s: model %s, sde %s, continuous %d\n", c.name.c_str(), c.model.name.c_str(),
              c.sde.name.c_str(), c.continuous);
  std::shared_ptr<ScoreModel> model = make_model(c.model, c.data);
  load_reference_state(*model, file.read_group("params"));
  model->eval();
  at::NoGradGuard no_grad;
  EXPECT_EQ(model->num_trainable_parameters() + model->num_frozen_parameters(), c.num_parameters)
      << c.name;

  at::Tensor out = model->forward(file.read("forward/x"), file.read("forward/labels"));
  EXPECT_TRUE(matches(c.name + " forward", out, file.read("forward/out")));

  // The same weights from score_sde's own checkpoint format (<case>.pth beside the .h5), for the
  // model and for the EMA shadow parameters.
  const std::string pth = std::filesystem::path(path).replace_extension(".pth").string();
  if (std::filesystem::exists(pth)) {
    const ReferenceCheckpoint ckpt = read_reference_checkpoint(pth);
    std::printf("[case] %s.pth: %zu model tensors, %zu EMA shadow tensors, step %lld\n",
                c.name.c_str(), ckpt.model.size(), ckpt.ema_shadow.size(),
                static_cast<long long>(ckpt.step));
    std::shared_ptr<ScoreModel> imported = make_model(c.model, c.data);
    load_reference_state(*imported, ckpt.model);
    imported->eval();
    EXPECT_TRUE(matches(c.name + " forward from .pth model",
                        imported->forward(file.read("forward/x"), file.read("forward/labels")),
                        file.read("forward/out")));
    std::shared_ptr<ScoreModel> ema = make_model(c.model, c.data);
    load_reference_state(*ema, file.read_group("params"));
    load_reference_ema(*ema, ckpt.ema_shadow);
    ema->eval();
    EXPECT_TRUE(matches(c.name + " forward from .pth EMA",
                        ema->forward(file.read("forward/x"), file.read("forward/labels")),
                        file.read("forward/out")));
  }

  auto sde = sde::make_sde(c.sde);
  sde::ModelFn net = [&](const at::Tensor& x, const at::Tensor& labels) {
    return model->forward(x, labels);
  };
  sde::ScoreFn score = sde::get_score_fn(sde, net, /*continuous=*/true);
  if (file.has("score")) {
    EXPECT_TRUE(matches(c.name + " score", score(file.read("score/x"), file.read("score/t")),
                        file.read("score/out")));
  }
  if (file.has("loss")) {
    const at::Tensor x0 = file.read("loss/x0"), t = file.read("loss/t"), z = file.read("loss/z");
    for (int reduce_mean = 0; reduce_mean <= 1; ++reduce_mean) {
      for (int lw = 0; lw <= 1; ++lw) {
        const std::string key =
            "loss/reduce_mean_" + std::to_string(reduce_mean) + "_lw_" + std::to_string(lw);
        EXPECT_TRUE(matches(c.name + " " + key,
                            sde::sde_loss(*sde, score, x0, t, z, reduce_mean, lw), file.read(key)));
      }
    }
  }
}

TEST(ModelParity, EveryScoreSdeFixture) {
  for (const std::string& path : sgm::testing::fixture_files("score_sde")) {
    SCOPED_TRACE(path);
    try {
      check_case(path);
    } catch (const std::exception& e) {
      ADD_FAILURE() << path << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace sgm::models
