// metric_parity: every *.h5 in $SGM_FIXTURES/metrics against sgm's evaluation code.
// - Files with `key_order_json` (Inception parity): the network's state_dict keys and shapes
//   equal the fixture's list; with the `fill_rule` weights, pool3 and logits of every group's
//   images_f32 match within max|ours - ref| <= 1e-4 max|ref| per tensor.
// - Files with `fid` (metric arithmetic): mu/sigma recomputed from the features, the Fréchet
//   distance within 1e-6 relative, KID on the given subsets and IS (10 splits) within 1e-6.
// MetricParityCuda (label gpu, skips without a GPU): the Inception cases on CUDA in fp32 (TF32
// off in cuBLAS and cuDNN), same tolerance; the network's output comes back to the host.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include "data/named_arrays.h"
#include "eval/inception.h"
#include "eval/metrics.h"
#include "tests/support/inception_fixture.h"
#include "tests/support/score_sde_fixture.h"

namespace sgm::eval {
namespace {

std::string base(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

// max|a - b| / max|b| per tensor, printed with the tolerance.
void expect_close(const at::Tensor& ours, const at::Tensor& ref, double tolerance,
                  const std::string& what) {
  ASSERT_EQ(ours.sizes(), ref.sizes()) << what;
  const at::Tensor a = ours.to(at::kDouble), b = ref.to(at::kDouble);
  const double diff = (a - b).abs().max().item<double>();
  const double scale = b.abs().max().item<double>();
  std::printf("[evidence] %s: max abs diff %.3e, max |ref| %.3e, ratio %.3e (tolerance %.0e)\n",
              what.c_str(), diff, scale, diff / scale, tolerance);
  EXPECT_LE(diff, tolerance * scale) << what;
}

void expect_relative(double ours, double ref, double tolerance, const std::string& what) {
  const double rel = std::abs(ours - ref) / std::abs(ref);
  std::printf("[evidence] %s: %.17g vs %.17g, relative error %.3e (tolerance %.0e)\n", what.c_str(),
              ours, ref, rel, tolerance);
  EXPECT_LE(rel, tolerance) << what;
}

void check_inception(const data::NamedArrayFile& file, const at::Device& device) {
  const std::string name = base(file.path());
  ASSERT_NE(file.string_attribute("fill_rule").find("splitmix64(k * 2^32 + i)"), std::string::npos)
      << name << ": the fill rule is not the one this test implements";
  const auto keys = testing::parse_key_order(file.string_attribute("key_order_json"));
  FidInception net;
  const std::map<std::string, at::Tensor> state = state_of(*net);
  ASSERT_EQ(state.size(), keys.size()) << name << ": state_dict sizes differ";
  for (const auto& [key, shape] : keys) {
    auto it = state.find(key);
    ASSERT_NE(it, state.end()) << name << ": the network has no '" << key << "'";
    EXPECT_EQ(it->second.sizes().vec(), shape) << key;
  }
  std::printf("[evidence] %s: %zu state_dict keys and shapes match torchvision's names\n",
              name.c_str(), keys.size());
  load_state(*net, testing::fill_rule_weights(keys), name);
  net->to(device);
  torch::NoGradGuard no_grad;
  std::size_t groups = 0;
  for (const std::string& group : file.names("/")) {
    if (!file.has(group + "/images_f32")) continue;
    ++groups;
    const at::Tensor images = file.read(group + "/images_f32");
    const at::Tensor u8 = file.read(group + "/images_u8");
    EXPECT_TRUE(at::equal(u8.permute({0, 3, 1, 2}).to(at::kFloat).div(255), images))
        << group << ": images_f32 is not images_u8 / 255";
    const InceptionOutput out = net->forward(images.to(device));
    const std::string what = name + " " + group + " on " + device.str();
    expect_close(out.pool3.cpu(), file.read(group + "/pool3"), 1e-4, what + " pool3");
    expect_close(out.logits.cpu(), file.read(group + "/logits"), 1e-4, what + " logits");
  }
  EXPECT_GT(groups, 0u) << name << ": no group with images_f32";
}

void check_metrics(const data::NamedArrayFile& file) {
  const std::string name = base(file.path());
  for (const char* set : {"a", "b"}) {
    const at::Tensor features = file.read(set);
    FeatureStatistics stats(features.size(1));
    // In two parts, as two ranks would add them.
    const std::int64_t half = features.size(0) / 2;
    stats.add(features.narrow(0, 0, half));
    stats.add(features.narrow(0, half, features.size(0) - half));
    expect_close(stats.mean(), file.read(std::string("mu_") + set), 1e-9,
                 name + " mu_" + set + " (one-pass float64 sums)");
    expect_close(stats.covariance(), file.read(std::string("sigma_") + set), 1e-9,
                 name + " sigma_" + set);
  }
  const double fid = frechet_distance(file.read("mu_a"), file.read("sigma_a"), file.read("mu_b"),
                                      file.read("sigma_b"));
  expect_relative(fid, file.read("fid").item<double>(), 1e-6, name + " Fréchet distance");
  if (file.has("kid_subset_x")) {
    const MeanStd kid = kernel_inception_distance(
        file.read("a"), file.read("b"), file.read("kid_subset_x"), file.read("kid_subset_y"));
    expect_relative(kid.mean, file.read("kid_mean").item<double>(), 1e-6, name + " KID mean");
    expect_relative(kid.std, file.read("kid_std").item<double>(), 1e-6, name + " KID std");
  }
  if (file.has("is_logits")) {
    const MeanStd score = inception_score(file.read("is_logits"), 10);
    expect_relative(score.mean, file.read("is_mean").item<double>(), 1e-6, name + " IS mean");
    expect_relative(score.std, file.read("is_std").item<double>(), 1e-6, name + " IS std");
  }
}

TEST(MetricParity, EveryFixture) {
  for (const std::string& path : testing::fixture_files("metrics")) {
    SCOPED_TRACE(path);
    const data::NamedArrayFile file(path);
    if (file.has_attribute("key_order_json")) {
      check_inception(file, at::kCPU);
    } else if (file.has("fid")) {
      check_metrics(file);
    } else {
      ADD_FAILURE() << path << ": neither an Inception (key_order_json) nor a metric (fid) fixture";
    }
  }
}

TEST(MetricParityCuda, InceptionFixturesInFp32) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible";
  at::globalContext().setAllowTF32CuBLAS(false);
  at::globalContext().setAllowTF32CuDNN(false);
  std::size_t cases = 0;
  for (const std::string& path : testing::fixture_files("metrics")) {
    SCOPED_TRACE(path);
    const data::NamedArrayFile file(path);
    if (!file.has_attribute("key_order_json")) continue;
    check_inception(file, at::Device(at::kCUDA, 0));
    ++cases;
  }
  EXPECT_GT(cases, 0u) << "no Inception fixture in $SGM_FIXTURES/metrics";
}

}  // namespace
}  // namespace sgm::eval
