// Run by ctest under `mpirun -np 2` (and alone): the EMA against score_sde_pytorch's
// ExponentialMovingAverage written out per parameter (bit for bit, also across the slices the
// update works in), and the sharded EMA equal to the replicated one.
#include <algorithm>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "trainer/core/flat_chunks.h"
#include "trainer/dist/communicator.h"
#include "trainer/dist/context.h"
#include "trainer/train/ema.h"

namespace sgm::train {
namespace {

TEST(Ema, MatchesTheReferenceAndShardedEqualsReplicated) {
  dist::ContextOptions c;
  c.device = "cpu";
  dist::Context context(c);
  dist::Communicator comm(context);
  EmaOptions replicated_options;
  replicated_options.rate = 0.999;
  EmaOptions sharded_options = replicated_options;
  sharded_options.sharded = true;

  // Two flat buffers of odd sizes (not divisible by the world size), the first over several of
  // the update's slices (core::kFlatChunk); the same walk on every rank, as after the reducer's
  // all-reduce.
  at::manual_seed(5);
  std::vector<at::Tensor> params = {at::randn({2 * core::kFlatChunk + 1001}), at::randn({7})};
  Ema replicated(params, comm, replicated_options);
  Ema sharded(params, comm, sharded_options);
  std::vector<at::Tensor> reference = {params[0].clone(), params[1].clone()};
  std::int64_t num_updates = 0;
  for (int step = 0; step < 30; ++step) {
    for (at::Tensor& p : params) p.add_(at::randn(p.sizes()) * 0.1);
    replicated.update(params);
    sharded.update(params);
    // score_sde_pytorch models/ema.py, update():
    num_updates += 1;
    const auto n = static_cast<double>(num_updates);
    const double decay = std::min(0.999, (1.0 + n) / (10.0 + n));
    const double one_minus_decay = 1.0 - decay;
    for (std::size_t i = 0; i < params.size(); ++i)
      reference[i].sub_(one_minus_decay * (reference[i] - params[i]));
  }
  EXPECT_EQ(replicated.num_updates(), 30);
  EXPECT_NEAR(replicated.next_decay(), 32.0 / 41.0, 1e-15);
  const auto r = replicated.gather();
  const auto s = sharded.gather();
  for (std::size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(
        sgm::testing::tensors_equal("replicated EMA vs score_sde's formula", r[i], reference[i]));
    EXPECT_TRUE(sgm::testing::tensors_equal(
        fmt::format("sharded EMA (W={}) vs replicated", comm.world_size()), s[i], r[i]));
  }
  // Loading whole buffers back into a sharded EMA gives the same whole buffers.
  Ema reloaded(params, comm, sharded_options);
  reloaded.load(r);
  EXPECT_TRUE(sgm::testing::tensors_equal("sharded EMA after load", reloaded.gather()[0], r[0]));
}

}  // namespace
}  // namespace sgm::train
