// Dropout whose masks are counter-based random numbers: the mask of one sample in one layer at
// one training step depends only on (seed, step, layer, the sample's global position), never on
// the batch, rank, world size, thread count or how many steps this process has run. So a run
// with dropout trains the same on any world size and resumes bit for bit after a restart (no
// generator state to save). On the CPU the masks are drawn on every core.
//
// Element e of the sample at global position i is kept, and scaled by 1 / (1 - p) as
// torch.nn.Dropout does, when (w >> 8) < round((1 - p) * 2^24), where w is the 32-bit word e of
// core::CounterRng(dropout_key(seed, step, layer)) for index i in stream kDropout. The training
// loop says which (seed, step, positions) apply with a DropoutScope around each forward pass;
// make_model keys every layer by the hash of its name in the model (key_dropout_layers).
#pragma once

#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

namespace sgm::models {

// The 64-bit key of the masks of `layer` at `step` of a run seeded with `seed`.
std::uint64_t dropout_key(std::uint64_t seed, std::int64_t step, std::uint64_t layer);

// The mask for x ([B, ...], the samples at `positions`, [B] int64 on the CPU): 0 where dropped,
// 1 / (1 - p) (in float32) where kept, of x's shape, dtype and device.
at::Tensor dropout_mask(std::uint64_t key, const at::Tensor& positions, const at::Tensor& x,
                        double p);

// While alive, training-mode Dropout layers on this thread draw the masks of (seed, step) for the
// samples at `positions` (global positions of the batch's rows).
class DropoutScope {
 public:
  DropoutScope(std::uint64_t seed, std::int64_t step, at::Tensor positions);
  ~DropoutScope();
  DropoutScope(const DropoutScope&) = delete;
  DropoutScope& operator=(const DropoutScope&) = delete;

  std::uint64_t seed() const { return seed_; }
  std::int64_t step() const { return step_; }
  const at::Tensor& positions() const { return positions_; }
  // The innermost scope of this thread, or nullptr.
  static const DropoutScope* current();

 private:
  std::uint64_t seed_;
  std::int64_t step_;
  at::Tensor positions_;
  const DropoutScope* outer_;
};

class DropoutImpl : public torch::nn::Cloneable<DropoutImpl> {
 public:
  explicit DropoutImpl(double p = 0.5);
  void reset() override {}
  // x itself in evaluation mode or when p = 0; otherwise x * mask, which needs a DropoutScope.
  at::Tensor forward(const at::Tensor& x);
  double p() const { return p_; }
  std::uint64_t layer_key() const { return layer_key_; }
  void set_layer_key(std::uint64_t key) { layer_key_ = key; }

 private:
  double p_;
  std::uint64_t layer_key_ = 0;
};
TORCH_MODULE(Dropout);

// Keys every Dropout in `model` by the FNV-1a hash of its qualified name
// ("all_modules.5.Dropout_0").
void key_dropout_layers(torch::nn::Module& model);

}  // namespace sgm::models
