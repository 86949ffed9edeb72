#include "trainer/models/class_embedding.h"

#include <cmath>

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include "trainer/core/error.h"
#include "trainer/models/layers.h"

namespace sgm::models {

torch::Tensor class_one_hot(const torch::Tensor& classes, std::int64_t num_classes) {
  SGM_CHECK(classes.dim() == 1 && classes.scalar_type() == at::kLong,
            "class labels must be int64 [B], got {} of {} dimension(s)",
            std::string(c10::toString(classes.scalar_type())), classes.dim());
  if (classes.numel() > 0) {
    const std::int64_t low = classes.min().item<std::int64_t>();
    const std::int64_t high = classes.max().item<std::int64_t>();
    if (low < -1 || high >= num_classes)
      throw core::UsageError(fmt::format("class label {} outside [0, {}) (model.num_classes = {})",
                                         low < -1 ? low : high, num_classes, num_classes));
  }
  // Class k -> column k + 1 of K + 1; "no class" -> column 0, which is then dropped.
  return at::one_hot(classes + 1, num_classes + 1).narrow(1, 1, num_classes).to(at::kFloat);
}

ClassEmbeddingImpl::ClassEmbeddingImpl(std::int64_t num_classes, std::int64_t dim)
    : num_classes_(num_classes) {
  SGM_CHECK(num_classes > 0, "a class embedding needs num_classes > 0, got {}", num_classes);
  map_ = register_module("map",
                         torch::nn::Linear(torch::nn::LinearOptions(num_classes, dim).bias(false)));
  default_init_(map_->weight, 1.0);
}

torch::Tensor ClassEmbeddingImpl::forward(const torch::Tensor& temb,
                                          const torch::Tensor& class_labels) {
  if (!class_labels.defined()) return temb;
  SGM_CHECK(class_labels.dim() == 2 && class_labels.size(0) == temb.size(0) &&
                class_labels.size(1) == num_classes_,
            "class labels of shape {} for a batch of {} and {} classes",
            fmt::format("{}", fmt::join(class_labels.sizes(), "x")), temb.size(0), num_classes_);
  return temb + map_->forward(class_labels.to(temb.dtype()) *
                              std::sqrt(static_cast<double>(num_classes_)));
}

}  // namespace sgm::models
