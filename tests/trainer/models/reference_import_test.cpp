// Importing reference weights is strict: missing, unexpected and mis-shaped keys are named;
// files that are not torch.save checkpoints are refused with the file named.
#include "trainer/models/reference_import.h"

#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "trainer/core/error.h"
#include "trainer/models/registry.h"
#include "trainer/models/torch_checkpoint.h"

namespace sgm::models {
namespace {

std::shared_ptr<ScoreModel> small_ncsnpp() {
  ModelOptions o;
  o.nf = 16;
  o.ch_mult = {1, 2};
  o.num_res_blocks = 1;
  o.attn_resolutions = {4};
  DataShape d;
  d.image_size = 8;
  return make_model(o, d, core::SdeOptions{});
}

std::map<std::string, at::Tensor> own_state(ScoreModel& model) {
  std::map<std::string, at::Tensor> state;
  auto params = model.named_parameters(true);
  auto buffers = model.named_buffers(true);
  for (const auto& [ours, theirs] : model.reference_names()) {
    const at::Tensor* t = params.find(ours);
    if (t == nullptr) t = buffers.find(ours);
    state["module." + theirs] = t->detach().clone();
  }
  return state;
}

TEST(ReferenceImport, RoundTripsItsOwnNames) {
  auto a = small_ncsnpp();
  auto b = small_ncsnpp();
  load_reference_state(*b, own_state(*a));
  a->eval();
  b->eval();
  at::Tensor x = at::rand({2, 3, 8, 8});
  at::Tensor sigma = at::tensor({0.5f, 3.0f});
  EXPECT_TRUE(at::equal(a->forward(x, sigma), b->forward(x, sigma)));
  EXPECT_EQ(a->reference_names().front().second, "all_modules.0.W");
}

TEST(ReferenceImport, NamesMissingUnexpectedAndMisshapenKeys) {
  auto model = small_ncsnpp();
  auto state = own_state(*model);
  state.erase("module.all_modules.3.weight");
  state["module.all_modules.99.bogus"] = at::zeros({1});
  state["module.all_modules.1.bias"] = at::zeros({5});
  try {
    load_reference_state(*model, state);
    FAIL() << "mismatched weights accepted";
  } catch (const core::UsageError& e) {
    const std::string what = e.what();
    std::printf("[evidence] message: %s\n", what.c_str());
    EXPECT_NE(what.find("1 missing (all_modules.3.weight)"), std::string::npos);
    EXPECT_NE(what.find("1 unexpected (all_modules.99.bogus)"), std::string::npos);
    EXPECT_NE(what.find("1 of another shape (all_modules.1.bias (5 vs 64))"), std::string::npos);
  }
  EXPECT_THROW(load_reference_ema(*model, {at::zeros({3})}), core::UsageError);
}

TEST(TorchCheckpoint, RefusesFilesThatAreNotTorchZips) {
  const auto path = std::filesystem::temp_directory_path() / "sgm-not-a-checkpoint.pth";
  std::ofstream(path) << "plain text";
  try {
    read_reference_checkpoint(path.string());
    FAIL() << "text file accepted";
  } catch (const core::UsageError& e) {
    std::printf("[evidence] message: %s\n", e.what());
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos);
  }
  std::filesystem::remove(path);
  EXPECT_THROW(read_reference_checkpoint("/nonexistent/x.pth"), core::UsageError);
}

}  // namespace
}  // namespace sgm::models
