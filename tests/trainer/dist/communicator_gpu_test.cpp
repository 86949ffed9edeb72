// Label gpu: the NCCL path at world size 1 (dist.nccl_single_rank), the one a single GPU can run.
// Every collective goes through a real one-rank NCCL communicator on its own stream and must
// return exactly what one rank contributes: all_reduce (sum, avg, max) leaves the tensor as it
// was, all_gather and reduce_scatter copy input to output, broadcast keeps the root's values;
// the flight recorder shows each one issued and done. The gradient reducer over that
// communicator launches one NCCL all-reduce per bucket and gives plain autograd's gradients
// (fp32, and rounded once to bfloat16 with bf16 reduction).
// Skips with a reason when no GPU is visible or the build has no CUDA.
#include <cstdio>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include "tests/support/compare.h"
#include "trainer/core/error.h"
#include "trainer/dist/communicator.h"
#include "trainer/dist/context.h"
#include "trainer/dist/reducer.h"

namespace sgm::dist {
namespace {

#define SKIP_WITHOUT_GPU()          \
  if (!torch::cuda::is_available()) \
  GTEST_SKIP() << "no CUDA device visible (torch::cuda::is_available() is false)"

ContextOptions cuda_context() {
  ContextOptions c;
  c.device = "cuda";
  return c;
}

CommOptions single_rank_nccl() {
  CommOptions o;
  o.nccl_single_rank = true;
  return o;
}

TEST(NcclSingleRank, EveryCollectiveReturnsTheOneRanksData) {
  SKIP_WITHOUT_GPU();
  Context context(cuda_context());
  Communicator comm(context, single_rank_nccl());
  ASSERT_EQ(comm.world_size(), 1);
  const auto cuda = at::TensorOptions().device(context.device());
  std::int64_t collectives = 0;
  for (const at::ScalarType dtype :
       {at::kFloat, at::kDouble, at::kBFloat16, at::kHalf, at::kInt, at::kLong, at::kByte}) {
    for (const std::int64_t n : {1LL, 1000LL, 100003LL}) {
      const at::Tensor source = at::arange(n, cuda.dtype(at::kLong)).remainder(251).to(dtype);
      const std::string what = fmt::format("{} x {}", c10::toString(dtype), n);
      std::vector<ReduceOp> ops{ReduceOp::kSum, ReduceOp::kMax};
      if (at::isFloatingType(dtype)) ops.push_back(ReduceOp::kAvg);
      for (const ReduceOp op : ops) {
        at::Tensor t = source.clone();
        comm.all_reduce(t, op, "test").wait();
        EXPECT_TRUE(at::equal(t.cpu(), source.cpu())) << "all_reduce " << what;
        ++collectives;
      }
      at::Tensor out = at::full({n}, 7, cuda.dtype(dtype));
      comm.all_gather(source, out, "test").wait();
      EXPECT_TRUE(at::equal(out.cpu(), source.cpu())) << "all_gather " << what;
      out.fill_(7);
      comm.reduce_scatter(source, out, ReduceOp::kSum, "test").wait();
      EXPECT_TRUE(at::equal(out.cpu(), source.cpu())) << "reduce_scatter " << what;
      at::Tensor b = source.clone();
      comm.broadcast(b, 0, "test").wait();
      EXPECT_TRUE(at::equal(b.cpu(), source.cpu())) << "broadcast " << what;
      collectives += 3;
    }
  }
  comm.barrier();
  ++collectives;
  // CPU tensors at world size 1 are still the identity and never reach a backend.
  at::Tensor host = at::ones({4});
  comm.all_reduce(host, ReduceOp::kSum).wait();
  EXPECT_TRUE(at::equal(host, at::ones({4})));
  const Progress p = comm.recorder().progress();
  std::printf("[evidence] one-rank NCCL: %lld collectives issued, %lld done (expected %lld)\n",
              static_cast<long long>(p.issued), static_cast<long long>(p.done),
              static_cast<long long>(collectives));
  EXPECT_EQ(p.issued, collectives);
  EXPECT_EQ(p.done, collectives);
}

TEST(NcclSingleRank, RefusedWithoutCuda) {
  ContextOptions c;
  c.device = "cpu";
  Context context(c);
  try {
    Communicator comm(context, single_rank_nccl());
    FAIL() << "a one-rank NCCL communicator on the CPU was accepted";
  } catch (const core::UsageError& e) {
    std::printf("[evidence] refused: %s\n", e.what());
    EXPECT_NE(std::string(e.what()).find("dist.nccl_single_rank"), std::string::npos);
  }
}

torch::nn::Sequential conv_net() {
  torch::manual_seed(11);
  return torch::nn::Sequential(
      torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 32, 3).padding(1)), torch::nn::SiLU(),
      torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 32, 3).padding(1)), torch::nn::SiLU(),
      torch::nn::Flatten(), torch::nn::Linear(32 * 8 * 8, 10));
}

void expect_reducer_matches_autograd(bool reduce_bf16) {
  Context context(cuda_context());
  Communicator comm(context, single_rank_nccl());
  at::globalContext().setDeterministicCuDNN(true);
  auto plain = conv_net();
  auto reduced = conv_net();
  plain->to(context.device());
  reduced->to(context.device());
  std::vector<NamedTensor> named;
  for (const auto& item : reduced->named_parameters()) named.emplace_back(item.key(), item.value());
  ReducerOptions o;
  o.first_bucket_mb = 0.01;
  o.bucket_mb = 0.05;
  o.reduce_bf16 = reduce_bf16;
  GradientReducer reducer(named, comm, o);
  const std::int64_t before = comm.recorder().progress().issued;
  torch::manual_seed(5);
  const at::Tensor x = torch::randn({16, 3, 8, 8}, torch::TensorOptions().device(context.device()));
  plain->forward(x).pow(2).mean().backward();
  reducer.zero_grad();
  reduced->forward(x).pow(2).mean().backward();
  reducer.check_gradient_views();
  const std::int64_t launched = comm.recorder().progress().issued - before;
  std::printf("[evidence] reducer (bf16 reduction %d): %zu buckets, %lld NCCL all-reduces\n",
              reduce_bf16, reducer.buckets().size(), static_cast<long long>(launched));
  EXPECT_EQ(launched, static_cast<std::int64_t>(reducer.buckets().size()));
  EXPECT_GT(reducer.buckets().size(), 1u);
  const auto a = plain->parameters();
  const auto b = reduced->parameters();
  // The parameters are views into the flat buffer, less aligned than fresh allocations, so
  // cuBLAS/cuDNN may pick another kernel than for the plain model: equal up to rounding.
  for (std::size_t k = 0; k < a.size(); ++k) {
    // bf16 reduction rounds the gradient to bfloat16 on the way (the path's documented cost).
    const at::Tensor expected =
        (reduce_bf16 ? a[k].grad().to(at::kBFloat16).to(at::kFloat) : a[k].grad()).cpu();
    const at::Tensor actual = b[k].grad().cpu();
    const double scale = expected.abs().max().item<double>();
    const double tolerance = (reduce_bf16 ? 8e-3 : 1e-6) * scale;
    EXPECT_TRUE(
        sgm::testing::tensors_close("gradient through one-rank NCCL", actual, expected, tolerance));
    std::printf("[evidence]   bit-identical: %s\n", at::equal(actual, expected) ? "yes" : "no");
  }
  at::globalContext().setDeterministicCuDNN(false);
}

TEST(NcclSingleRank, ReducerGivesPlainAutogradGradients) {
  SKIP_WITHOUT_GPU();
  expect_reducer_matches_autograd(false);
}

TEST(NcclSingleRank, ReducerWithBf16ReductionRoundsOnce) {
  SKIP_WITHOUT_GPU();
  expect_reducer_matches_autograd(true);
}

}  // namespace
}  // namespace sgm::dist
