// model_parity: for every score_sde fixture ($SGM_FIXTURES/score_sde/*.h5), build the model
// from its config_json, load /params by reference name, and compare /forward/out,
// /score/out and every /loss/* with max|ours - ref| <= 1e-4 max|ref| per tensor.
// ModelParity runs on the CPU (label unit). ModelParityCuda (label gpu, skips without a GPU)
// runs the same cases on CUDA in fp32 with TF32 off (same tolerance) and with TF32 on in cuBLAS
// and cuDNN (TF32 keeps 10 mantissa bits: 1e-2 max|ref|, the measured ratio printed).
#include <filesystem>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "tests/support/compare.h"
#include "tests/support/score_sde_fixture.h"
#include "trainer/models/reference_import.h"
#include "trainer/models/registry.h"
#include "trainer/models/torch_checkpoint.h"
#include "trainer/sde/losses.h"
#include "trainer/sde/score_fn.h"

namespace sgm::models {
namespace {

// Where the models run and how closely they must match.
struct Numerics {
  at::Device device = at::kCPU;
  bool tf32 = false;
  double relative_tolerance = 1e-4;
};

void check_case(const std::string& path, const Numerics& numerics) {
  const at::Device device = numerics.device;
  const auto matches = [&](const std::string& what, const at::Tensor& ours, const at::Tensor& ref) {
    const double scale = ref.abs().max().item<double>();
    return sgm::testing::tensors_close(what, ours.cpu(), ref, numerics.relative_tolerance * scale);
  };
  const auto read = [&](const data::NamedArrayFile& f, const std::string& name) {
    return f.read(name).to(device);
  };
  data::NamedArrayFile file(path);
  const sgm::testing::ScoreSdeCase c = sgm::testing::read_score_sde_case(file);
  std::printf("[case] %s: model %s, sde %s, continuous %d, %s%s\n", c.name.c_str(),
              c.model.name.c_str(), c.sde.name.c_str(), c.sde.continuous, device.str().c_str(),
              numerics.tf32 ? " with TF32" : "");
  std::shared_ptr<ScoreModel> model = make_model(c.model, c.data, c.sde);
  load_reference_state(*model, file.read_group("params"));
  model->to(device);
  model->eval();
  at::NoGradGuard no_grad;
  EXPECT_EQ(model->num_trainable_parameters() + model->num_frozen_parameters(), c.num_parameters)
      << c.name;

  at::Tensor out = model->forward(read(file, "forward/x"), read(file, "forward/labels"));
  EXPECT_TRUE(matches(c.name + " forward", out, file.read("forward/out")));

  // The same weights from score_sde's own checkpoint format (<case>.pth beside the .h5), for the
  // model and for the EMA shadow parameters (on the CPU: reading is independent of the device).
  const std::string pth = std::filesystem::path(path).replace_extension(".pth").string();
  if (device.is_cpu() && std::filesystem::exists(pth)) {
    const ReferenceCheckpoint ckpt = read_reference_checkpoint(pth);
    std::printf("[case] %s.pth: %zu model tensors, %zu EMA shadow tensors, step %lld\n",
                c.name.c_str(), ckpt.model.size(), ckpt.ema_shadow.size(),
                static_cast<long long>(ckpt.step));
    std::shared_ptr<ScoreModel> imported = make_model(c.model, c.data, c.sde);
    load_reference_state(*imported, ckpt.model);
    imported->eval();
    EXPECT_TRUE(matches(c.name + " forward from .pth model",
                        imported->forward(file.read("forward/x"), file.read("forward/labels")),
                        file.read("forward/out")));
    std::shared_ptr<ScoreModel> ema = make_model(c.model, c.data, c.sde);
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
    EXPECT_TRUE(matches(c.name + " score", score(read(file, "score/x"), read(file, "score/t")),
                        file.read("score/out")));
  }
  if (file.has("loss")) {
    const at::Tensor x0 = read(file, "loss/x0"), t = read(file, "loss/t"), z = read(file, "loss/z");
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

void check_every_case(const Numerics& numerics) {
  at::globalContext().setAllowTF32CuBLAS(numerics.tf32);
  at::globalContext().setAllowTF32CuDNN(numerics.tf32);
  for (const std::string& path : sgm::testing::fixture_files("score_sde")) {
    SCOPED_TRACE(path);
    try {
      check_case(path, numerics);
    } catch (const std::exception& e) {
      ADD_FAILURE() << path << ": " << e.what();
    }
  }
  at::globalContext().setAllowTF32CuBLAS(false);
  at::globalContext().setAllowTF32CuDNN(false);
}

TEST(ModelParity, EveryScoreSdeFixture) { check_every_case({}); }

TEST(ModelParityCuda, EveryScoreSdeFixtureInFp32) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible";
  check_every_case({at::Device(at::kCUDA, 0), false, 1e-4});
}

TEST(ModelParityCuda, EveryScoreSdeFixtureWithTf32) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible";
  check_every_case({at::Device(at::kCUDA, 0), true, 1e-2});
}

}  // namespace
}  // namespace sgm::models
