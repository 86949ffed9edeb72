// 2-D toys: mixture weights and means within Monte-Carlo error, the checkerboard's occupied
// cells, the moons' radii, and float points passing through the dataset files and the loader
// unchanged.
#include "data/toy2d.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "data/dataset_writer.h"
#include "data/loader.h"
#include "tests/support/compare.h"
#include "trainer/core/error.h"

namespace sgm::data {
namespace {

using sgm::testing::near_with_evidence;

ToyOptions toy(const std::string& kind, std::int64_t count, std::uint64_t seed = 0,
               double std = 0.1) {
  ToyOptions o;
  o.kind = kind;
  o.count = count;
  o.seed = seed;
  o.std = std;
  return o;
}

TEST(Toy2d, MixtureWeightsAndMeans) {
  ToyOptions o;
  o.count = 40000;
  o.modes = {{0, 0}, {3, -2}};
  o.weights = {1, 3};
  o.std = 0.2;
  ImageSet s = make_toy2d(o);
  EXPECT_EQ(s.images.sizes(), (std::vector<std::int64_t>{40000, 1, 1, 2}));
  EXPECT_EQ(s.images.scalar_type(), at::kFloat);
  at::Tensor x = s.images.view({-1, 2}).to(at::kDouble);
  at::Tensor second = s.labels.eq(1);
  const double p = second.to(at::kDouble).mean().item<double>();
  EXPECT_TRUE(near_with_evidence("weight of mode 2", p, 0.75, 4 * std::sqrt(0.75 * 0.25 / 40000)));
  at::Tensor m = x.index({second}).mean(0);
  EXPECT_TRUE(
      near_with_evidence("mean x of mode 2", m[0].item<double>(), 3, 4 * 0.2 / std::sqrt(30000.0)));
  EXPECT_TRUE(near_with_evidence("std of mode 1",
                                 x.index({second.logical_not()}).std().item<double>(), 0.2, 0.01));
  ToyOptions mismatch = toy("gmm", 10);
  mismatch.modes = {{0, 0}};
  mismatch.weights = {1, 2};
  EXPECT_THROW(make_toy2d(mismatch), core::UsageError);
  EXPECT_THROW(make_toy2d(toy("spiral", 10)), core::UsageError);
}

TEST(Toy2d, CheckerboardAndMoonsShapes) {
  ImageSet c = make_toy2d(toy("checkerboard", 20000));
  at::Tensor x = c.images.view({-1, 2}).to(at::kDouble);
  EXPECT_GE(x.min().item<double>(), -4.0);
  EXPECT_LT(x.max().item<double>(), 4.0);
  at::Tensor parity =
      at::remainder(at::floor(x.select(1, 0) / 2) + at::floor(x.select(1, 1) / 2), 2);
  EXPECT_EQ(parity.ne(0).sum().item<std::int64_t>(), 0) << "every point in an occupied cell";
  ImageSet m = make_toy2d(toy("moons", 20000, 1, 0.0));
  at::Tensor y = m.images.view({-1, 2}).to(at::kDouble);
  at::Tensor upper = m.labels.eq(0);
  at::Tensor r_upper = y.index({upper}).norm(2, 1);
  at::Tensor centre = at::tensor({1.0, 0.5}, at::kDouble);
  at::Tensor r_lower = (y.index({upper.logical_not()}) - centre).norm(2, 1);
  EXPECT_TRUE(
      near_with_evidence("upper moon radius (noise 0)", r_upper.max().item<double>(), 1.0, 1e-6));
  EXPECT_TRUE(
      near_with_evidence("lower moon radius (noise 0)", r_lower.min().item<double>(), 1.0, 1e-6));
}

TEST(Toy2d, FloatPointsPassThroughFilesAndLoader) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / fmt::format("sgm-toy-{}", ::getpid())).string();
  std::filesystem::remove_all(dir);
  ImageSet s = make_toy2d(toy("swissroll", 64, 5));
  WriteOptions w;
  w.num_shards = 2;
  write_dataset(dir, s.images, at::Tensor(), w);
  auto dataset = std::make_shared<ShardedDataset>(dir);
  EXPECT_TRUE(dataset->is_float());
  EXPECT_TRUE(dataset->verify_checksums().empty());
  LoaderOptions o;
  o.global_batch = 16;
  o.in_memory = false;
  Loader loader(dataset, o);
  Batch b = loader.next();
  EXPECT_EQ(b.images.sizes(), (std::vector<std::int64_t>{16, 2, 1, 1}));
  EXPECT_TRUE(sgm::testing::tensors_equal(
      "points through the loader", b.images,
      s.images.index_select(0, b.ids).permute({0, 3, 1, 2}).contiguous()));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sgm::data
