// Narrow ATen includes (per-operator headers, no operator overloads): cheap to compile where the
// shared precompiled header is off (SGM_PRECOMPILED_HEADERS=OFF, cmake/SgmBuildSpeed.cmake).
#define TORCH_ASSERT_ONLY_METHOD_OPERATORS
#include "trainer/core/rng.h"

#include <cmath>

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cos.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/log.h>
#include <ATen/ops/sin.h>
#include <ATen/ops/sqrt.h>
#include <ATen/ops/stack.h>

#include "trainer/core/error.h"
#include "trainer/core/philox.h"

namespace sgm::core {
namespace {

constexpr std::int64_t kLow32 = 0xFFFFFFFFLL;
constexpr std::int64_t kLow16 = 0xFFFFLL;

void check_index(const at::Tensor& index, std::int64_t n) {
  SGM_CHECK(index.dim() == 1 && index.scalar_type() == at::kLong,
            "index must be a [B] int64 tensor, got {} dims of dtype {}", index.dim(),
            c10::toString(index.scalar_type()));
  SGM_CHECK(n >= 0 && n / 4 < (std::int64_t{1} << 32), "bad count per sample {}", n);
}

at::Tensor words_scalar(std::uint64_t seed, const at::Tensor& index, std::int64_t n,
                        RngStream stream) {
  const at::Tensor idx = index.contiguous();
  const std::int64_t batch = idx.size(0);
  at::Tensor out = at::empty({batch, n}, idx.options());
  const std::int64_t* in = idx.data_ptr<std::int64_t>();
  std::int64_t* o = out.data_ptr<std::int64_t>();
  const PhiloxKey key = {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
  at::parallel_for(0, batch, 16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) {
      const auto i = static_cast<std::uint64_t>(in[b]);
      for (std::int64_t block = 0; block * 4 < n; ++block) {
        const PhiloxCounter r =
            philox4x32_10({static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(stream),
                           static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i >> 32)},
                          key);
        for (std::int64_t w = 0; w < 4 && block * 4 + w < n; ++w) o[b * n + block * 4 + w] = r[w];
      }
    }
  });
  return out;
}

// (hi, lo) 32-bit halves of m * a for a 32-bit constant m and a in [0, 2^32) held in int64,
// with no intermediate above 2^49.
std::pair<at::Tensor, at::Tensor> mulhilo(std::uint32_t m, const at::Tensor& a) {
  const std::int64_t m_lo = m & kLow16;
  const std::int64_t m_hi = m >> 16;
  at::Tensor p_lo = a.mul(m_lo);
  at::Tensor p_hi = a.mul(m_hi);
  at::Tensor lo = p_lo.add(p_hi.bitwise_and(kLow16).bitwise_left_shift(16)).bitwise_and(kLow32);
  at::Tensor hi = p_hi.add(p_lo.bitwise_right_shift(16)).bitwise_right_shift(16);
  return {hi, lo};
}

}  // namespace

at::Tensor CounterRng::words_tensor_ops(const at::Tensor& index, std::int64_t n,
                                        RngStream stream) const {
  check_index(index, n);
  const std::int64_t blocks = (n + 3) / 4;
  auto opts = index.options();
  // c0 = block, c1 = stream, c2 = lo32(i), c3 = hi32(i); each [B, blocks].
  at::Tensor c0 = at::arange(blocks, opts).unsqueeze(0).expand({index.size(0), blocks});
  at::Tensor c1 = at::full({index.size(0), blocks}, static_cast<std::int64_t>(stream), opts);
  at::Tensor c2 = index.bitwise_and(kLow32).unsqueeze(1).expand({index.size(0), blocks});
  at::Tensor c3 = index.bitwise_right_shift(32).bitwise_and(kLow32).unsqueeze(1).expand(
      {index.size(0), blocks});
  std::uint32_t k0 = static_cast<std::uint32_t>(seed_);
  std::uint32_t k1 = static_cast<std::uint32_t>(seed_ >> 32);
  for (int round = 0; round < kPhiloxRounds; ++round) {
    if (round > 0) {
      k0 += kPhiloxW0;
      k1 += kPhiloxW1;
    }
    auto [hi0, lo0] = mulhilo(kPhiloxM0, c0);
    auto [hi1, lo1] = mulhilo(kPhiloxM1, c2);
    at::Tensor n0 = hi1.bitwise_xor(c1).bitwise_xor(static_cast<std::int64_t>(k0));
    at::Tensor n2 = hi0.bitwise_xor(c3).bitwise_xor(static_cast<std::int64_t>(k1));
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  at::Tensor all = at::stack({c0, c1, c2, c3}, 2).reshape({index.size(0), blocks * 4});
  return all.narrow(1, 0, n).contiguous();
}

void CounterRng::uniform_into(std::int64_t index, std::int64_t n, RngStream stream, float* out) const {
  const PhiloxKey key = {static_cast<std::uint32_t>(seed_), static_cast<std::uint32_t>(seed_ >> 32)};
  const auto i = static_cast<std::uint64_t>(index);
  for (std::int64_t block = 0; block * 4 < n; ++block) {
    const PhiloxCounter r = philox4x32_10({static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(stream),
                                           static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i >> 32)},
                                          key);
    for (std::int64_t w = 0; w < 4 && block * 4 + w < n; ++w) {
      out[block * 4 + w] = static_cast<float>(r[w] >> 8) * (1.0f / 16777216.0f);
    }
  }
}

at::Tensor CounterRng::words(const at::Tensor& index, std::int64_t n, RngStream stream) const {
  check_index(index, n);
  if (index.is_cpu()) return words_scalar(seed_, index, n, stream);
  return words_tensor_ops(index, n, stream);
}

at::Tensor CounterRng::uniform(const at::Tensor& index, std::int64_t n, RngStream stream) const {
  return words(index, n, stream).bitwise_right_shift(8).to(at::kFloat).mul_(1.0f / 16777216.0f);
}

at::Tensor CounterRng::normal(const at::Tensor& index, std::int64_t n, RngStream stream) const {
  const std::int64_t pairs = (n + 1) / 2;
  at::Tensor w = words(index, 2 * pairs, stream).view({index.size(0), pairs, 2});
  // u1 in (0, 1] so the logarithm is finite; u2 in [0, 1).
  at::Tensor u1 =
      w.select(2, 0).bitwise_right_shift(8).add(1).to(at::kDouble).mul_(1.0 / 16777216.0);
  at::Tensor u2 = w.select(2, 1).bitwise_right_shift(8).to(at::kDouble).mul_(1.0 / 16777216.0);
  at::Tensor r = at::sqrt(at::log(u1).mul_(-2.0));
  at::Tensor theta = u2.mul(2.0 * M_PI);
  at::Tensor z = at::stack({r.mul(at::cos(theta)), r.mul(at::sin(theta))}, 2);
  return z.view({index.size(0), 2 * pairs}).narrow(1, 0, n).to(at::kFloat).contiguous();
}

}  // namespace sgm::core
