// Run by ctest under `mpirun -np 2`: every collective of dist::Communicator on CPU tensors
// (the MPI backend) against hand-computed results, for several dtypes and odd sizes, including
// the split path for counts above the per-call limit; the host helpers; the flight recorder.
#include <climits>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "tests/support/compare.h"
#include "trainer/core/error.h"
#include "trainer/dist/communicator.h"
#include "trainer/dist/context.h"

namespace sgm::dist {
namespace {

ContextOptions cpu_options() {
  ContextOptions options;
  options.device = "cpu";
  return options;
}

// Rank r's contribution: (r + 1) * (i % 97 + 1) - a value exact in every dtype tested.
at::Tensor contribution(std::int64_t n, at::ScalarType dtype, int rank) {
  return (at::arange(n, at::kLong).remainder(97).add(1) * (rank + 1)).to(dtype);
}

const std::vector<std::int64_t> kSizes = {1, 7, 1023, 100003};
const std::vector<at::ScalarType> kTypes = {at::kFloat, at::kDouble, at::kInt, at::kLong,
                                            at::kBFloat16};

class CommunicatorMpi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    context_ = new Context(cpu_options());
    comm_ = new Communicator(*context_, CommOptions{60});
  }
  static void TearDownTestSuite() {
    delete comm_;
    delete context_;
  }
  static inline Context* context_ = nullptr;
  static inline Communicator* comm_ = nullptr;
};

TEST_F(CommunicatorMpi, AllReduceSumAvgMax) {
  ASSERT_EQ(comm_->world_size(), 2) << "run under mpirun -np 2";
  const int W = comm_->world_size(), r = comm_->rank();
  int checked = 0;
  for (at::ScalarType dtype : kTypes) {
    for (std::int64_t n : kSizes) {
      const at::Tensor base = contribution(n, at::kDouble, 0);
      at::Tensor sum = contribution(n, dtype, r);
      comm_->all_reduce(sum, ReduceOp::kSum, "test sum").wait();
      // Sum over ranks of (r + 1) * base = W (W + 1) / 2 * base; max = W * base.
      const std::string what = fmt::format("{} n={}", c10::toString(dtype), n);
      // Exact, also for bfloat16: the float sum of two exact values rounded once.
      const at::Tensor expected_sum = (base * (W * (W + 1) / 2)).to(dtype);
      EXPECT_TRUE(sgm::testing::tensors_equal("sum " + what, sum, expected_sum));
      at::Tensor max = contribution(n, dtype, r);
      comm_->all_reduce(max, ReduceOp::kMax, "test max").wait();
      EXPECT_TRUE(sgm::testing::tensors_equal("max " + what, max.to(at::kDouble), base * W));
      if (at::isFloatingType(dtype)) {
        at::Tensor avg = contribution(n, dtype, r);
        comm_->all_reduce(avg, ReduceOp::kAvg, "test avg").wait();
        EXPECT_TRUE(sgm::testing::tensors_equal("avg " + what, avg, expected_sum / W));
      } else {
        at::Tensor avg = contribution(n, dtype, r);
        EXPECT_THROW(comm_->all_reduce(avg, ReduceOp::kAvg), core::Error);
      }
      ++checked;
    }
  }
  std::printf("[evidence] all_reduce sum/max/avg: %d dtype x size cases exact\n", checked);
}

TEST_F(CommunicatorMpi, BroadcastAllGatherReduceScatter) {
  const int W = comm_->world_size(), r = comm_->rank();
  for (at::ScalarType dtype : kTypes) {
    for (std::int64_t n : kSizes) {
      const std::string what = fmt::format("{} n={}", c10::toString(dtype), n);
      // Broadcast from the last rank.
      at::Tensor b = contribution(n, dtype, r);
      comm_->broadcast(b, W - 1, "test broadcast").wait();
      EXPECT_TRUE(
          sgm::testing::tensors_equal("broadcast " + what, b, contribution(n, dtype, W - 1)));
      // All-gather: rank q's slice is its contribution.
      at::Tensor out = at::empty({W * n}, dtype);
      comm_->all_gather(contribution(n, dtype, r), out, "test all_gather").wait();
      for (int q = 0; q < W; ++q) {
        EXPECT_TRUE(sgm::testing::tensors_equal(fmt::format("all_gather slice {} {}", q, what),
                                                out.narrow(0, q * n, n),
                                                contribution(n, dtype, q)));
      }
      // Reduce-scatter: input [W * n] = contribution repeated with slice index q added.
      at::Tensor in = at::cat({contribution(n, dtype, r), contribution(n, dtype, r)})
                          .narrow(0, 0, W * n)
                          .contiguous();
      at::Tensor mine = at::empty({n}, dtype);
      comm_->reduce_scatter(in, mine, ReduceOp::kSum, "test reduce_scatter").wait();
      const at::Tensor base = contribution(n, at::kDouble, 0);
      EXPECT_TRUE(sgm::testing::tensors_equal("reduce_scatter " + what, mine,
                                              (base * (W * (W + 1) / 2)).to(dtype)));
    }
  }
}

TEST_F(CommunicatorMpi, CountsAboveThePerCallLimitAreSplit) {
  // The path taken above INT_MAX elements, exercised with a limit of 1000 elements per call.
  const int W = comm_->world_size(), r = comm_->rank();
  comm_->set_max_elements_per_mpi_call(1000);
  const std::int64_t n = 4567;
  const at::Tensor base = contribution(n, at::kDouble, 0);
  at::Tensor sum = contribution(n, at::kFloat, r);
  comm_->all_reduce(sum, ReduceOp::kSum, "split sum").wait();
  EXPECT_TRUE(sgm::testing::tensors_equal("split all_reduce", sum.to(at::kDouble),
                                          base * (W * (W + 1) / 2)));
  at::Tensor b = contribution(n, at::kLong, r);
  comm_->broadcast(b, 0, "split broadcast").wait();
  EXPECT_TRUE(sgm::testing::tensors_equal("split broadcast", b, contribution(n, at::kLong, 0)));
  at::Tensor out = at::empty({W * n}, at::kFloat);
  comm_->all_gather(contribution(n, at::kFloat, r), out, "split all_gather").wait();
  for (int q = 0; q < W; ++q) {
    EXPECT_TRUE(sgm::testing::tensors_equal(fmt::format("split all_gather slice {}", q),
                                            out.narrow(0, q * n, n),
                                            contribution(n, at::kFloat, q)));
  }
  at::Tensor in = at::cat({contribution(n, at::kFloat, r), contribution(n, at::kFloat, r) * 2});
  at::Tensor mine = at::empty({n}, at::kFloat);
  comm_->reduce_scatter(in, mine, ReduceOp::kAvg, "split reduce_scatter").wait();
  // Slice q of every rank's input is (q + 1) * (r + 1) * base; averaged over ranks.
  EXPECT_TRUE(sgm::testing::tensors_close("split reduce_scatter avg", mine.to(at::kDouble),
                                          base * (r + 1) * ((W + 1) / 2.0), 1e-9));
  comm_->set_max_elements_per_mpi_call(INT_MAX);
}

TEST_F(CommunicatorMpi, HostHelpersBarrierAndFlightRecorder) {
  const int W = comm_->world_size(), r = comm_->rank();
  EXPECT_DOUBLE_EQ(comm_->all_reduce(0.5 * (r + 1), ReduceOp::kSum), 0.5 * W * (W + 1) / 2);
  EXPECT_EQ(comm_->all_reduce(static_cast<std::int64_t>(10 + r), ReduceOp::kMax), 10 + W - 1);
  EXPECT_TRUE(comm_->any(r == W - 1));
  EXPECT_FALSE(comm_->any(false));
  const std::vector<std::int64_t> gathered = comm_->all_gather(static_cast<std::int64_t>(r * r));
  for (int q = 0; q < W; ++q) EXPECT_EQ(gathered[static_cast<std::size_t>(q)], q * q);
  comm_->barrier();
  // Every collective so far is done, and the sequence numbers agree across ranks.
  const Progress p = comm_->recorder().progress();
  EXPECT_FALSE(p.oldest_pending.has_value());
  EXPECT_EQ(p.done, p.issued);
  const std::vector<std::int64_t> issued = comm_->all_gather(p.issued);
  EXPECT_EQ(issued.front(), issued.back());
  std::printf("[evidence] %lld collectives issued and done on each rank; last entries:\n%s\n",
              static_cast<long long>(p.issued), comm_->recorder().dump(3).c_str());
}

TEST_F(CommunicatorMpi, ManyCollectivesInFlightCompleteInOrder) {
  // Issue 50 all-reduces without waiting, then wait in reverse: the communication thread runs
  // them in issue order and each result is right.
  const int W = comm_->world_size(), r = comm_->rank();
  std::vector<at::Tensor> tensors;
  std::vector<Work> works;
  for (int i = 0; i < 50; ++i) {
    tensors.push_back(at::full({257 + i}, static_cast<float>((r + 1) * (i + 1)), at::kFloat));
    works.push_back(comm_->all_reduce(tensors.back(), ReduceOp::kSum, fmt::format("burst {}", i)));
  }
  for (int i = 49; i >= 0; --i) works[static_cast<std::size_t>(i)].wait();
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(at::equal(tensors[static_cast<std::size_t>(i)],
                          at::full({257 + i}, static_cast<float>((i + 1) * W * (W + 1) / 2))))
        << i;
  }
}

TEST_F(CommunicatorMpi, CudaTensorsGoOverNccl) {
  // NCCL wants one device per rank; every rank sees the same devices, so all skip together.
  const auto devices = static_cast<int>(torch::cuda::device_count());
  if (devices < context_->local_size()) {
    GTEST_SKIP() << "needs one CUDA device per rank on this node (" << context_->local_size()
                 << " ranks, " << devices << " devices)";
  }
  ContextOptions c;
  c.device = "cuda";
  Context context(c);
  Communicator comm(context, CommOptions{60});
  const int W = comm.world_size(), r = comm.rank();
  const auto on_device = at::TensorOptions().device(context.device());
  for (at::ScalarType dtype : {at::kFloat, at::kBFloat16, at::kLong}) {
    for (std::int64_t n : kSizes) {
      const std::string what = fmt::format("NCCL {} n={}", c10::toString(dtype), n);
      const at::Tensor expected_sum =
          (contribution(n, at::kDouble, 0) * (W * (W + 1) / 2)).to(dtype);
      at::Tensor sum = contribution(n, dtype, r).to(on_device);
      comm.all_reduce(sum, ReduceOp::kSum, "cuda sum").wait();
      EXPECT_TRUE(sgm::testing::tensors_equal("sum " + what, sum.cpu(), expected_sum));
      at::Tensor b = contribution(n, dtype, r).to(on_device);
      comm.broadcast(b, W - 1, "cuda broadcast").wait();
      EXPECT_TRUE(
          sgm::testing::tensors_equal("broadcast " + what, b.cpu(), contribution(n, dtype, W - 1)));
      at::Tensor out = at::empty({W * n}, on_device.dtype(dtype));
      comm.all_gather(contribution(n, dtype, r).to(on_device), out, "cuda all_gather").wait();
      EXPECT_TRUE(sgm::testing::tensors_equal("all_gather last slice " + what,
                                              out.narrow(0, (W - 1) * n, n).cpu(),
                                              contribution(n, dtype, W - 1)));
    }
  }
  comm.barrier();
}

}  // namespace
}  // namespace sgm::dist
