// Initialisation as score_sde's: variance_scaling(scale, fan_avg, uniform) weights
// with their bound sqrt(3 scale / fan_avg), init_scale 0 meaning 1e-10 for each block's last
// layer, zero biases, unit GroupNorm weights, frozen Fourier frequencies of std 16.
#include <cmath>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "trainer/models/registry.h"

namespace sgm::models {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

double fan_avg(const at::Tensor& w) {
  double receptive = 1;
  for (std::int64_t i = 2; i < w.dim(); ++i) receptive *= static_cast<double>(w.size(i));
  return (static_cast<double>(w.size(0)) + static_cast<double>(w.size(1))) * receptive / 2;
}

TEST(Init, NcsnppFollowsTheReference) {
  ModelOptions o;  // the CIFAR-10 NCSN++ at full width: enough samples per tensor for moments
  DataShape d;
  auto model = make_model(o, d, core::SdeOptions{});
  int near_zero = 0, default_scaled = 0;
  for (const auto& p : model->named_parameters()) {
    const std::string name = p.key();
    const at::Tensor w = p.value().detach().to(at::kDouble);
    if (name == "embed.fourier.W") {
      EXPECT_FALSE(p.value().requires_grad());
      EXPECT_TRUE(sgm::testing::near_with_evidence("Fourier W std / 16",
                                                   w.std().item<double>() / 16.0, 1.0, 0.3));
      continue;
    }
    if (ends_with(name, "bias") || ends_with(name, ".b")) {
      if (name.find("GroupNorm") == std::string::npos && name.find("norm") == std::string::npos) {
        EXPECT_EQ(w.abs().max().item<double>(), 0.0) << name;
      }
      continue;
    }
    if (w.dim() < 2) {  // GroupNorm weights
      EXPECT_EQ(w.sub(1).abs().max().item<double>(), 0.0) << name;
      continue;
    }
    const bool last_layer =
        ends_with(name, "Conv_1.weight") || ends_with(name, "NIN_3.W") || name == "out.conv.weight";
    const double scale = last_layer ? 1e-10 : (name.find("NIN_") != std::string::npos ? 0.1 : 1.0);
    const double bound = std::sqrt(3 * scale / fan_avg(w));
    EXPECT_LE(w.abs().max().item<double>(), bound * (1 + 1e-6)) << name;
    if (last_layer) {
      ++near_zero;
    } else if (w.numel() >= 20000) {
      // Uniform(-a, a) has variance a^2 / 3 = scale / fan_avg.
      EXPECT_NEAR(w.var().item<double>() / (scale / fan_avg(w)), 1.0, 0.05) << name;
      ++default_scaled;
    }
  }
  std::printf(
      "[evidence] %d last layers at scale 1e-10, %d large tensors with variance scale/fan_avg "
      "within 5%%\n",
      near_zero, default_scaled);
  EXPECT_GT(near_zero, 40);
  EXPECT_GT(default_scaled, 100);
}

}  // namespace
}  // namespace sgm::models
