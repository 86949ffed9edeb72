// Label gpu: the counter-based RNG gives the same numbers on CUDA as on the CPU. Words and
// uniforms are integer/exact computations and must match bit for bit; normals go through
// float64 log/cos/sin, whose CUDA and CPU implementations may differ in the last bit, so they
// are compared with a tolerance of a few float32 ulps. Skips with a reason when no GPU is visible.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "trainer/core/rng.h"

namespace sgm::core {
namespace {

TEST(CounterRngCuda, SameNumbersAsCpu) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device visible (at::hasCUDA() is false)";
  const CounterRng rng(0xfeedbeefcafeULL);
  at::Tensor cpu_index = at::arange(4294967290LL, 4294967290LL + 512, at::kLong);
  at::Tensor cuda_index = cpu_index.to(at::kCUDA);
  const std::int64_t n = 3 * 32 * 32 + 1;
  EXPECT_TRUE(sgm::testing::tensors_equal("words cuda vs cpu",
                                          rng.words(cuda_index, n, RngStream::kNoise),
                                          rng.words(cpu_index, n, RngStream::kNoise)));
  EXPECT_TRUE(sgm::testing::tensors_equal("uniform cuda vs cpu",
                                          rng.uniform(cuda_index, n, RngStream::kTime),
                                          rng.uniform(cpu_index, n, RngStream::kTime)));
  at::Tensor z_cuda = rng.normal(cuda_index, n, RngStream::kNoise).cpu();
  at::Tensor z_cpu = rng.normal(cpu_index, n, RngStream::kNoise);
  const std::int64_t differing = z_cuda.ne(z_cpu).sum().item<std::int64_t>();
  std::printf("[evidence] normal cuda vs cpu: %lld of %lld values differ in any bit\n",
              static_cast<long long>(differing), static_cast<long long>(z_cpu.numel()));
  EXPECT_TRUE(sgm::testing::tensors_close("normal cuda vs cpu", z_cuda, z_cpu, 4e-6));
}

}  // namespace
}  // namespace sgm::core
