#include "trainer/models/dropout.h"

#include <cmath>

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/lt.h>
#include <ATen/ops/where.h>

#include "trainer/core/checksum.h"
#include "trainer/core/error.h"
#include "trainer/core/philox.h"
#include "trainer/core/rng.h"

namespace sgm::models {
namespace {

thread_local const DropoutScope* current_scope = nullptr;

// splitmix64's finaliser: a bijection of 64-bit words that mixes every input bit into every
// output bit.
std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Words below this are kept: round((1 - p) * 2^24) of the 2^24 values of (w >> 8).
std::int64_t keep_below(double p) { return std::llround((1.0 - p) * 16777216.0); }

// The CPU mask, every core drawing its share: element e of row b is Philox word e % 4 of
// counter (e / 4, kDropout, lo32(i), hi32(i)) under `key`, as core::CounterRng::words gives.
at::Tensor cpu_mask(std::uint64_t key, const at::Tensor& positions, std::int64_t rows,
                    std::int64_t n, double p) {
  at::Tensor out = at::empty({rows, n}, at::kFloat);
  float* o = out.data_ptr<float>();
  const std::int64_t* in = positions.data_ptr<std::int64_t>();
  const core::PhiloxKey k = {static_cast<std::uint32_t>(key),
                             static_cast<std::uint32_t>(key >> 32)};
  const auto below = static_cast<std::uint32_t>(keep_below(p));
  const float scale = 1.0f / static_cast<float>(1.0 - p);  // as dropout's noise.div_(1 - p)
  const std::int64_t blocks = (n + 3) / 4;
  at::parallel_for(0, rows * blocks, 4096, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t g = begin; g < end; ++g) {
      const std::int64_t b = g / blocks, block = g % blocks;
      const auto i = static_cast<std::uint64_t>(in[b]);
      const core::PhiloxCounter r = core::philox4x32_10(
          {static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(core::RngStream::kDropout),
           static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i >> 32)},
          k);
      float* row = o + b * n + block * 4;
      for (std::int64_t w = 0; w < 4 && block * 4 + w < n; ++w)
        row[w] = (r[static_cast<std::size_t>(w)] >> 8) < below ? scale : 0.0f;
    }
  });
  return out;
}

}  // namespace

std::uint64_t dropout_key(std::uint64_t seed, std::int64_t step, std::uint64_t layer) {
  return mix64(mix64(mix64(seed) ^ static_cast<std::uint64_t>(step)) ^ layer);
}

at::Tensor dropout_mask(std::uint64_t key, const at::Tensor& positions, const at::Tensor& x,
                        double p) {
  SGM_CHECK(positions.dim() == 1 && positions.scalar_type() == at::kLong && positions.is_cpu(),
            "dropout: positions must be a [B] int64 CPU tensor");
  SGM_CHECK(x.dim() >= 1 && x.size(0) == positions.size(0),
            "dropout: {} rows of activations for {} sample positions", x.dim() ? x.size(0) : 0,
            positions.size(0));
  SGM_CHECK(p >= 0 && p < 1, "dropout: p = {} must lie in [0, 1)", p);
  const std::int64_t rows = x.size(0);
  const std::int64_t n = rows == 0 ? 0 : x.numel() / rows;
  at::Tensor mask;
  if (x.is_cpu()) {
    mask = cpu_mask(key, positions.contiguous(), rows, n, p);
  } else {
    // The same words from tensor operations on the device.
    const at::Tensor words =
        core::CounterRng(key).words(positions.to(x.device()), n, core::RngStream::kDropout);
    const at::Tensor keep = words.bitwise_right_shift(8).lt(keep_below(p));
    mask = at::where(
        keep, at::full({}, 1.0f / static_cast<float>(1.0 - p), x.options().dtype(at::kFloat)),
        at::full({}, 0.0f, x.options().dtype(at::kFloat)));
  }
  mask = mask.view(x.sizes()).to(x.dtype());
  const at::MemoryFormat format = x.suggest_memory_format();
  return mask.is_contiguous(format) ? mask : mask.contiguous(format);
}

DropoutScope::DropoutScope(std::uint64_t seed, std::int64_t step, at::Tensor positions)
    : seed_(seed), step_(step), positions_(std::move(positions)), outer_(current_scope) {
  current_scope = this;
}

DropoutScope::~DropoutScope() { current_scope = outer_; }

const DropoutScope* DropoutScope::current() { return current_scope; }

DropoutImpl::DropoutImpl(double p) : p_(p) {
  SGM_CHECK(p >= 0 && p < 1, "dropout: p = {} must lie in [0, 1)", p);
}

at::Tensor DropoutImpl::forward(const at::Tensor& x) {
  if (!is_training() || p_ == 0) return x;
  const DropoutScope* scope = DropoutScope::current();
  SGM_CHECK(scope != nullptr,
            "dropout {} in training mode outside a training step (no models::DropoutScope)", p_);
  return x.mul(dropout_mask(dropout_key(scope->seed(), scope->step(), layer_key_),
                            scope->positions(), x, p_));
}

void key_dropout_layers(torch::nn::Module& model) {
  for (const auto& item : model.named_modules()) {
    if (auto* d = item.value()->as<DropoutImpl>())
      d->set_layer_key(core::fnv1a(item.key().data(), item.key().size()));
  }
}

}  // namespace sgm::models
