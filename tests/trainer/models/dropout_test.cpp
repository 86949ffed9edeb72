// models::Dropout's counter-based masks: the CPU loop gives the words of core::CounterRng's
// tensor-operation generator (the one CUDA uses), a sample's mask depends on its position only
// (not on the batch around it or the thread count), the keep rate is 1 - p within binomial noise
// and the kept value is torch::dropout's 1 / (1 - p); other steps, layers and seeds draw other
// masks; the module is x * mask in training (gradient: the mask), x itself in evaluation, and
// refuses to train outside a DropoutScope; make_model keys each layer of a network differently.
#include "trainer/models/dropout.h"

#include <cmath>
#include <cstdio>
#include <set>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/nn/functional/dropout.h>

#include "trainer/core/rng.h"
#include "trainer/models/registry.h"
#include "trainer/sde/registry.h"

namespace sgm::models {
namespace {

at::Tensor positions(std::initializer_list<std::int64_t> p) {
  return at::tensor(std::vector<std::int64_t>(p), at::kLong);
}

TEST(Dropout, CpuMaskIsCounterRngsTensorOperationWords) {
  const double p = 0.3;
  const std::uint64_t key = dropout_key(11, 5, 77);
  const at::Tensor pos = positions({0, 9, 1ll << 40, 3});
  const at::Tensor x = at::ones({4, 5, 3, 3});  // 45 elements per sample: not a multiple of 4
  const at::Tensor mask = dropout_mask(key, pos, x, p);
  const at::Tensor words =
      core::CounterRng(key).words_tensor_ops(pos, 45, core::RngStream::kDropout);
  const at::Tensor keep = words.bitwise_right_shift(8).lt(std::llround(0.7 * 16777216.0));
  const at::Tensor expected =
      at::where(keep, at::full({}, 1.0f / 0.7f), at::full({}, 0.0f)).view(x.sizes());
  std::printf("[evidence] %lld of %lld kept; CPU mask equal to the tensor-operation words: %s\n",
              static_cast<long long>(keep.sum().item<std::int64_t>()),
              static_cast<long long>(keep.numel()), at::equal(mask, expected) ? "yes" : "no");
  EXPECT_TRUE(at::equal(mask, expected));
}

TEST(Dropout, MaskOfASampleDependsOnItsPositionOnly) {
  const std::uint64_t key = dropout_key(1, 2, 3);
  const at::Tensor a = dropout_mask(key, positions({7, 3}), at::ones({2, 8, 4, 4}), 0.1);
  const at::Tensor b = dropout_mask(key, positions({3, 9, 7}), at::ones({3, 8, 4, 4}), 0.1);
  EXPECT_TRUE(at::equal(a[0], b[2]));
  EXPECT_TRUE(at::equal(a[1], b[0]));
  // The same on one thread and on two (the test runs may give either).
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const at::Tensor one = dropout_mask(key, positions({3, 9, 7}), at::ones({3, 64, 32, 32}), 0.1);
  at::set_num_threads(2);
  const at::Tensor two = dropout_mask(key, positions({3, 9, 7}), at::ones({3, 64, 32, 32}), 0.1);
  at::set_num_threads(threads);
  EXPECT_TRUE(at::equal(one, two));
}

TEST(Dropout, KeepRateAndScaleAreTorchDropouts) {
  const double p = 0.1;
  const at::Tensor x = at::ones({16, 256, 16, 16});  // 1,048,576 elements
  const at::Tensor mask = dropout_mask(dropout_key(0, 0, 0), at::arange(16, at::kLong), x, p);
  const double kept = mask.ne(0).to(at::kDouble).mean().item<double>();
  const double sd = std::sqrt(p * (1 - p) / static_cast<double>(x.numel()));
  const at::Tensor torch_kept = torch::nn::functional::dropout(
      x, torch::nn::functional::DropoutFuncOptions().p(p).training(true));
  const float torch_scale = torch_kept.max().item<float>();
  const float scale = mask.max().item<float>();
  std::printf(
      "[evidence] keep rate %.6f (1 - p = %.6f, 5 sd = %.6f); kept value %.9g, "
      "torch::dropout's %.9g\n",
      kept, 1 - p, 5 * sd, scale, torch_scale);
  EXPECT_NEAR(kept, 1 - p, 5 * sd);
  EXPECT_EQ(scale, torch_scale);
  EXPECT_EQ(mask.min().item<float>(), 0.0f);
}

TEST(Dropout, OtherStepsLayersAndSeedsDrawOtherMasks) {
  const at::Tensor pos = at::arange(4, at::kLong);
  const at::Tensor x = at::ones({4, 32, 8, 8});
  const at::Tensor base = dropout_mask(dropout_key(1, 2, 3), pos, x, 0.5);
  for (const std::uint64_t other :
       {dropout_key(1, 3, 3), dropout_key(1, 2, 4), dropout_key(2, 2, 3)}) {
    const double same =
        dropout_mask(other, pos, x, 0.5).eq(base).to(at::kDouble).mean().item<double>();
    EXPECT_NEAR(same, 0.5, 0.03);  // independent masks at p = 0.5 agree on half the elements
  }
}

TEST(Dropout, ModuleTrainsWithTheMaskAndIsTheIdentityInEvaluation) {
  Dropout d(0.2);
  d->set_layer_key(42);
  const at::Tensor x = at::randn({3, 4, 5, 5}).requires_grad_(true);
  EXPECT_THROW(d->forward(x), std::exception);  // training mode, no scope
  const at::Tensor pos = positions({5, 6, 7});
  at::Tensor y;
  {
    const DropoutScope scope(9, 4, pos);
    y = d->forward(x);
  }
  const at::Tensor mask = dropout_mask(dropout_key(9, 4, 42), pos, x, 0.2);
  EXPECT_TRUE(at::equal(y, x * mask));
  y.sum().backward();
  EXPECT_TRUE(at::equal(x.grad(), mask));
  // Channels-last activations: the same values, in their layout.
  {
    const DropoutScope scope(9, 4, pos);
    const at::Tensor xl = x.detach().contiguous(at::MemoryFormat::ChannelsLast);
    const at::Tensor yl = d->forward(xl);
    EXPECT_TRUE(yl.is_contiguous(at::MemoryFormat::ChannelsLast));
    EXPECT_TRUE(at::equal(yl, y.detach()));
  }
  d->eval();
  EXPECT_TRUE(d->forward(x).is_same(x));
}

TEST(Dropout, MakeModelKeysEveryLayerByItsName) {
  ModelOptions o;
  o.nf = 16;
  o.ch_mult = {1, 2};
  o.num_res_blocks = 1;
  o.attn_resolutions = {8};
  o.dropout = 0.1;
  DataShape shape;
  shape.image_size = 16;
  sde::SdeOptions so;
  auto model = make_model(o, shape, so);
  std::set<std::uint64_t> keys;
  std::size_t layers = 0;
  for (const auto& m : model->modules()) {
    if (const auto* d = m->as<DropoutImpl>()) {
      ++layers;
      keys.insert(d->layer_key());
    }
  }
  std::printf("[evidence] %zu dropout layers, %zu distinct keys\n", layers, keys.size());
  EXPECT_GT(layers, 2u);
  EXPECT_EQ(keys.size(), layers);
  EXPECT_EQ(keys.count(0), 0u);
}

}  // namespace
}  // namespace sgm::models
