// Class conditioning (model.num_classes): one-hot rows with -1 as "no class", the embedding added
// to the noise embedding of NCSN++, DDPM++ (ncsnpp with DDPM++'s options), DDPM and the MLP, the
// zero row equal to no class at all, gradients reaching exactly the classes of the batch, and the
// refusals: networks without classes, negative counts, score_sde's layout.
#include "trainer/models/class_embedding.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "trainer/core/error.h"
#include "trainer/models/reference_import.h"
#include "trainer/models/registry.h"

namespace sgm::models {
namespace {

constexpr std::int64_t kClasses = 3;

struct Case {
  const char* label;
  ModelOptions model;
  DataShape data;
};

std::vector<Case> conditional_networks() {
  DataShape image;
  image.image_size = 8;
  image.num_channels = 3;
  ModelOptions ncsnpp;
  ncsnpp.name = "ncsnpp";
  ncsnpp.nf = 16;
  ncsnpp.ch_mult = {1, 2};
  ncsnpp.num_res_blocks = 1;
  ncsnpp.attn_resolutions = {4};
  ModelOptions ddpmpp = ncsnpp;  // DDPM++: positional embedding, DDPM residual blocks, no FIR
  ddpmpp.embedding_type = "positional";
  ddpmpp.resblock_type = "ddpm";
  ddpmpp.fir = false;
  ddpmpp.progressive_input = "none";
  ddpmpp.scale_by_sigma = false;
  ModelOptions ddpm = ncsnpp;
  ddpm.name = "ddpm";
  ddpm.nf = 32;  // GroupNorm of 32 groups
  DataShape points;
  points.image_size = 1;
  points.num_channels = 2;
  ModelOptions mlp;
  mlp.name = "mlp";
  mlp.nf = 8;
  mlp.num_res_blocks = 2;
  std::vector<Case> cases = {{"NCSN++", ncsnpp, image},
                             {"DDPM++", ddpmpp, image},
                             {"DDPM", ddpm, image},
                             {"mlp", mlp, points}};
  for (Case& c : cases) c.model.num_classes = kClasses;
  return cases;
}

at::Tensor noise_labels(const Case& c, std::int64_t batch) {
  // Fourier embeddings take sigma; positional ones 999 t.
  return c.model.embedding_type == "fourier" && c.model.name != "ddpm"
             ? at::linspace(0.1, 5.0, batch, at::kFloat)
             : at::linspace(10.0, 900.0, batch, at::kFloat);
}

TEST(ClassEmbedding, OneHotRowsWithNoClassAsZeros) {
  const at::Tensor rows = class_one_hot(at::tensor({-1, 0, 2, 1}, at::kLong), kClasses);
  const at::Tensor expected =
      at::tensor({0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0}, at::kFloat).view({4, kClasses});
  std::string printed;
  for (std::int64_t i = 0; i < rows.size(0); ++i) {
    printed += " [";
    for (std::int64_t j = 0; j < kClasses; ++j) printed += rows[i][j].item<float>() > 0 ? "1" : "0";
    printed += "]";
  }
  std::printf("[evidence] one-hot of {-1, 0, 2, 1} with K = 3:%s\n", printed.c_str());
  EXPECT_TRUE(at::equal(rows, expected));
  for (const std::int64_t bad : {std::int64_t{3}, std::int64_t{-2}}) {
    try {
      class_one_hot(at::tensor({std::int64_t{0}, bad}, at::kLong), kClasses);
      ADD_FAILURE() << "class " << bad << " accepted";
    } catch (const core::UsageError& e) {
      std::printf("[evidence] class %ld: %s\n", static_cast<long>(bad), e.what());
      EXPECT_NE(std::string(e.what()).find("model.num_classes = 3"), std::string::npos);
    }
  }
}

TEST(ClassEmbedding, EveryConditionalNetworkUsesTheClass) {
  for (const Case& c : conditional_networks()) {
    SCOPED_TRACE(c.label);
    at::manual_seed(0);
    const std::shared_ptr<ScoreModel> net = make_model(c.model, c.data, core::SdeOptions());
    ASSERT_EQ(net->num_classes(), kClasses);
    net->eval();  // no dropout
    const std::int64_t B = 4;
    const at::Tensor x = at::rand({B, c.data.num_channels, c.data.image_size, c.data.image_size});
    const at::Tensor t = noise_labels(c, B);
    const at::Tensor classes = at::tensor({0, 2, 0, 2}, at::kLong);

    // The zero row is "no class": the same as calling without classes, bit for bit.
    const at::Tensor none = net->forward(x, t);
    const at::Tensor zeros =
        net->forward(x, t, class_one_hot(at::full({B}, -1, at::kLong), kClasses));
    EXPECT_TRUE(at::equal(none, zeros));
    // Different classes, different scores.
    const at::Tensor a = net->forward(x, t, class_one_hot(classes, kClasses));
    const at::Tensor b =
        net->forward(x, t, class_one_hot(at::tensor({1, 0, 1, 1}, at::kLong), kClasses));
    // Relative to the score's size: the U-Nets' last layers start at 1e-10 (score_sde's init).
    const double scale = none.abs().max().item<double>();
    const double moved = (a - none).abs().max().item<double>() / scale;
    const double apart = (a - b).abs().max().item<double>() / scale;
    std::printf(
        "[evidence] %s: max |s(y) - s(none)| / max |s(none)| = %.3g, "
        "max |s(y) - s(y')| / max |s(none)| = %.3g\n",
        c.label, moved, apart);
    EXPECT_GT(moved, 0.0);
    EXPECT_GT(apart, 0.0);

    // Gradients reach the embedding's columns of the classes in the batch, and only those.
    net->zero_grad();
    a.pow(2).sum().backward();
    at::Tensor grad;
    for (const auto& p : net->named_parameters())
      if (p.key().find("class_embedding") != std::string::npos) grad = p.value().grad();
    ASSERT_TRUE(grad.defined()) << "no class embedding parameter";
    const at::Tensor per_class = grad.abs().sum(0);  // weight [dim, K]
    std::printf("[evidence] %s: |grad| per class column: %.3g %.3g %.3g\n", c.label,
                per_class[0].item<double>(), per_class[1].item<double>(),
                per_class[2].item<double>());
    EXPECT_GT(per_class[0].item<double>(), 0.0);
    EXPECT_EQ(per_class[1].item<double>(), 0.0);
    EXPECT_GT(per_class[2].item<double>(), 0.0);
  }
}

TEST(ClassEmbedding, RefusedWhereThereIsNoPlaceForIt) {
  DataShape image;
  image.image_size = 32;
  ModelOptions ncsnv2;
  ncsnv2.name = "ncsnv2_64";
  ncsnv2.num_classes = 10;
  ModelOptions negative;
  negative.num_classes = -1;
  for (const ModelOptions& o : {ncsnv2, negative}) {
    try {
      make_model(o, image, core::SdeOptions());
      ADD_FAILURE() << o.name << " with model.num_classes = " << o.num_classes << " accepted";
    } catch (const core::UsageError& e) {
      std::printf("[evidence] %s\n", e.what());
      EXPECT_NE(std::string(e.what()).find("model.num_classes"), std::string::npos);
    }
  }
  // score_sde's layout has no class embedding: neither import nor export.
  const Case c = conditional_networks().front();
  const std::shared_ptr<ScoreModel> net = make_model(c.model, c.data, core::SdeOptions());
  try {
    reference_layout(*net);
    ADD_FAILURE() << "a conditional network exported in score_sde's layout";
  } catch (const core::UsageError& e) {
    std::printf("[evidence] export: %s\n", e.what());
  }
  EXPECT_THROW(load_reference_state(*net, {}), core::UsageError);
}

}  // namespace
}  // namespace sgm::models
