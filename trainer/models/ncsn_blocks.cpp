#include "trainer/models/ncsn_blocks.h"

#include <ATen/TensorIndexing.h>

namespace sgm::models {

Conv2d ncsn_conv(std::int64_t in, std::int64_t out, std::int64_t k, bool bias,
                 std::int64_t dilation) {
  return Conv2d(torch::nn::Conv2dOptions(in, out, k)
                    .padding(dilation * (k / 2))
                    .dilation(dilation)
                    .bias(bias));
}

ConvMeanPoolImpl::ConvMeanPoolImpl(std::int64_t in, std::int64_t out, std::int64_t k) {
  conv = register_module("conv", ncsn_conv(in, out, k));
}

torch::Tensor ConvMeanPoolImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = conv->forward(x);
  using torch::indexing::None;
  using torch::indexing::Slice;
  return (y.index({Slice(), Slice(), Slice(None, None, 2), Slice(None, None, 2)}) +
          y.index({Slice(), Slice(), Slice(1, None, 2), Slice(None, None, 2)}) +
          y.index({Slice(), Slice(), Slice(None, None, 2), Slice(1, None, 2)}) +
          y.index({Slice(), Slice(), Slice(1, None, 2), Slice(1, None, 2)})) /
         4.0;
}

torch::Tensor forward_conv(const std::shared_ptr<torch::nn::Module>& conv, const torch::Tensor& x) {
  if (auto c = std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(conv)) return c->forward(x);
  return std::dynamic_pointer_cast<ConvMeanPoolImpl>(conv)->forward(x);
}

torch::Tensor refine_upward(const std::vector<torch::Tensor>& stage_outputs, std::size_t blocks,
                            const RefineStep& refine) {
  torch::Tensor ref;
  for (std::size_t i = 0; i < blocks; ++i) {
    const torch::Tensor& skip = stage_outputs[stage_outputs.size() - 1 - i];
    const std::vector<torch::Tensor> inputs =
        i == 0 ? std::vector<torch::Tensor>{skip} : std::vector<torch::Tensor>{skip, ref};
    ref = refine(i, inputs, {skip.size(2), skip.size(3)});
  }
  return ref;
}

}  // namespace sgm::models
