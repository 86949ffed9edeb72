#include "trainer/models/conv.h"

#include <optional>
#include <string>

#include <ATen/Context.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/grad_mode.h>
#include <ATen/core/stack.h>
#include <ATen/ops/mkldnn_reorder_conv2d_weight.h>

namespace sgm::models {
namespace {

// oneDNN's convolution with a prepacked (or dense) weight: the operator LibTorch's own graph
// compiler calls after packing weights. Null where this LibTorch lacks it.
const c10::OperatorHandle* pointwise_convolution() {
  static const std::optional<c10::OperatorHandle> op =
      at::hasMKLDNN()
          ? c10::Dispatcher::singleton().findSchema({"mkldnn::_convolution_pointwise", ""})
          : std::nullopt;
  return op ? &*op : nullptr;
}

std::vector<std::int64_t> pair(const torch::ExpandingArray<2>& a) { return {a->at(0), a->at(1)}; }

}  // namespace

void Conv2dImpl::set_packing(bool packing) {
  packing_ = packing && pointwise_convolution() != nullptr;
  packed_ = torch::Tensor();
  packed_version_ = -1;
}

torch::Tensor Conv2dImpl::forward(const torch::Tensor& x) {
  const auto& o = options;
  const auto* padding = std::get_if<torch::ExpandingArray<2>>(&o.padding());
  if (!packing_ || at::GradMode::is_enabled() || padding == nullptr || !x.device().is_cpu() ||
      x.scalar_type() != at::kFloat || weight.scalar_type() != at::kFloat || x.dim() != 4 ||
      !std::holds_alternative<torch::enumtype::kZeros>(o.padding_mode())) {
    return torch::nn::Conv2dImpl::forward(x);
  }
  const std::vector<std::int64_t> pad = pair(*padding), stride = pair(o.stride()),
                                  dilation = pair(o.dilation());
  const std::vector<std::int64_t> sizes = x.sizes().vec();
  if (!packed_.defined() || packed_version_ != static_cast<std::int64_t>(weight._version()) ||
      packed_from_ != weight.data_ptr() || packed_for_ != sizes) {
    packed_ = at::mkldnn_reorder_conv2d_weight(weight.to_mkldnn(), pad, stride, dilation,
                                               o.groups(), sizes);
    packed_version_ = static_cast<std::int64_t>(weight._version());
    packed_from_ = weight.data_ptr();
    packed_for_ = sizes;
  }
  torch::jit::Stack stack{x,
                          packed_,
                          bias.defined() ? c10::IValue(bias) : c10::IValue(),
                          pad,
                          stride,
                          dilation,
                          o.groups(),
                          std::string("none"),
                          c10::List<std::optional<at::Scalar>>(),
                          c10::IValue()};
  pointwise_convolution()->callBoxed(&stack);
  return stack.at(0).toTensor();
}

std::int64_t set_convolution_packing(torch::nn::Module& module, bool packing) {
  if (pointwise_convolution() == nullptr) return 0;
  std::int64_t n = 0;
  for (const auto& m : module.modules(/*include_self=*/true)) {
    if (auto conv = std::dynamic_pointer_cast<Conv2dImpl>(m)) {
      conv->set_packing(packing);
      ++n;
    }
  }
  return n;
}

}  // namespace sgm::models
