// The 2-D convolution the score networks are built of: torch::nn::Conv2d (same parameters,
// names, initialisation and random draws) that can, for inference on the CPU, keep its weight
// prepacked in the layout oneDNN's convolution wants, instead of reordering it on every call.
// A packed convolution gives the bits LibTorch's own conv2d gives for the same input layout:
// packing saves time only. It is used only without autograd, on float32 CPU tensors; anything
// else takes torch::nn::Conv2d's path. A weight changed after packing (its version counter
// moves, e.g. new weights copied in, or it has other memory) is packed again before it is used.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

namespace sgm::models {

class Conv2dImpl : public torch::nn::Conv2dImpl {
 public:
  using torch::nn::Conv2dImpl::Conv2dImpl;
  torch::Tensor forward(const torch::Tensor& x);
  void set_packing(bool packing);

 private:
  bool packing_ = false;
  torch::Tensor packed_;                  // the weight in oneDNN's layout, or undefined
  std::int64_t packed_version_ = -1;      // weight's version counter when packed_ was made
  const void* packed_from_ = nullptr;     // and its memory
  std::vector<std::int64_t> packed_for_;  // the input sizes it was packed for
};
TORCH_MODULE(Conv2d);

// Turns packing on or off in every Conv2d of `module`; returns how many there are. Packing is
// on only where LibTorch has oneDNN's convolution (else this is a no-op returning 0).
std::int64_t set_convolution_packing(torch::nn::Module& module, bool packing);

}  // namespace sgm::models
