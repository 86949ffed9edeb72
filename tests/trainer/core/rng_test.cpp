// Philox4x32-10 against Random123's known answers; the counter-based RNG is the same on any
// rank and world size, and its tensor-op path (used on CUDA) equals the scalar path.
#include "trainer/core/rng.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "trainer/core/error.h"
#include "trainer/core/philox.h"

namespace sgm::core {
namespace {

TEST(Philox, Random123KnownAnswers) {
  struct Case {
    PhiloxCounter ctr;
    PhiloxKey key;
    PhiloxCounter expected;
  };
  const Case cases[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(philox4x32_10(c.ctr, c.key), c.expected);
  }
}

at::Tensor positions(std::int64_t begin, std::int64_t end) {
  return at::arange(begin, end, at::kLong);
}

TEST(CounterRng, TensorOpsPathEqualsScalarPath) {
  const CounterRng rng(0x123456789abcdefULL);
  // Indices beyond 2^32 exercise the high counter word; 7 words per sample a partial block.
  at::Tensor index = at::tensor({std::int64_t{0}, std::int64_t{1}, std::int64_t{4294967295},
                                 std::int64_t{4294967296}, std::int64_t{123456789012345}},
                                at::kLong);
  for (std::int64_t n : {1, 4, 7, 64}) {
    EXPECT_TRUE(sgm::testing::tensors_equal("words n=" + std::to_string(n),
                                            rng.words_tensor_ops(index, n, RngStream::kNoise),
                                            rng.words(index, n, RngStream::kNoise)));
  }
  // Word 0..3 of sample i are Philox(counter = (0, stream, lo(i), hi(i)), key = seed).
  const PhiloxCounter direct = philox4x32_10({0, 4, 0, 1}, {0x89abcdef, 0x01234567});
  at::Tensor w = rng.words(index.narrow(0, 3, 1), 4, RngStream::kNoise);
  for (int j = 0; j < 4; ++j) EXPECT_EQ(w[0][j].item<std::int64_t>(), direct[j]);
}

TEST(CounterRng, SameNumbersOnEveryRankAndWorldSize) {
  const CounterRng rng(42);
  const std::int64_t global_batch = 24;
  const std::int64_t per_sample = 3 * 4 * 4;
  at::Tensor single = rng.normal(positions(0, global_batch), per_sample, RngStream::kNoise);
  for (std::int64_t world : {1, 2, 4}) {
    std::vector<at::Tensor> parts;
    const std::int64_t local = global_batch / world;
    for (std::int64_t rank = 0; rank < world; ++rank) {
      parts.push_back(
          rng.normal(positions(rank * local, (rank + 1) * local), per_sample, RngStream::kNoise));
    }
    EXPECT_TRUE(sgm::testing::tensors_equal("normal, world size " + std::to_string(world),
                                            at::cat(parts), single));
  }
  // A sample's numbers do not depend on its batch: position 17 alone equals row 17.
  EXPECT_TRUE(sgm::testing::tensors_equal(
      "position 17 alone", rng.normal(positions(17, 18), per_sample, RngStream::kNoise),
      single.narrow(0, 17, 1)));
}

TEST(CounterRng, UniformIntoEqualsUniform) {
  const CounterRng rng(77);
  at::Tensor index = at::tensor({std::int64_t{3}, std::int64_t{1} << 33}, at::kLong);
  at::Tensor expected = rng.uniform(index, 11, RngStream::kDequantize);
  at::Tensor got = at::empty({2, 11});
  for (std::int64_t b = 0; b < 2; ++b) rng.uniform_into(index[b].item<std::int64_t>(), 11, RngStream::kDequantize, got[b].data_ptr<float>());
  EXPECT_TRUE(sgm::testing::tensors_equal("uniform_into vs uniform", got, expected));
}

TEST(CounterRng, StreamsAndSeedsAreIndependent) {
  at::Tensor index = positions(0, 8);
  at::Tensor a = CounterRng(1).words(index, 8, RngStream::kNoise);
  at::Tensor b = CounterRng(1).words(index, 8, RngStream::kTime);
  at::Tensor c = CounterRng(2).words(index, 8, RngStream::kNoise);
  EXPECT_EQ(a.eq(b).sum().item<std::int64_t>(), 0);
  EXPECT_EQ(a.eq(c).sum().item<std::int64_t>(), 0);
}

TEST(CounterRng, UniformAndNormalMoments) {
  const CounterRng rng(7);
  at::Tensor index = positions(0, 1000);
  at::Tensor u = rng.uniform(index, 1000, RngStream::kTest).to(at::kDouble);
  EXPECT_GE(u.min().item<double>(), 0.0);
  EXPECT_LT(u.max().item<double>(), 1.0);
  // 1e6 draws: standard errors 2.9e-4 (mean of U), 1e-3 (mean of N), 1.4e-3 (var of N).
  EXPECT_TRUE(
      sgm::testing::near_with_evidence("uniform mean", u.mean().item<double>(), 0.5, 1.5e-3));
  at::Tensor z = rng.normal(index, 1000, RngStream::kTest).to(at::kDouble);
  EXPECT_EQ(z.scalar_type(), at::kDouble);
  EXPECT_TRUE(sgm::testing::near_with_evidence("normal mean", z.mean().item<double>(), 0.0, 5e-3));
  EXPECT_TRUE(
      sgm::testing::near_with_evidence("normal variance", z.var().item<double>(), 1.0, 7e-3));
  EXPECT_TRUE(sgm::testing::near_with_evidence(
      "normal P(|z| > 1.96)", z.abs().gt(1.96).to(at::kDouble).mean().item<double>(), 0.05,
      1.1e-3));
  EXPECT_TRUE(std::isfinite(z.abs().max().item<double>()));
}

TEST(CounterRng, RejectsBadIndex) {
  const CounterRng rng(1);
  EXPECT_THROW(rng.words(at::zeros({2, 2}, at::kLong), 4, RngStream::kTest), Error);
  EXPECT_THROW(rng.words(at::zeros({2}, at::kFloat), 4, RngStream::kTest), Error);
}

}  // namespace
}  // namespace sgm::core
