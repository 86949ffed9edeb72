#include "trainer/train/class_labels.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "trainer/core/error.h"
#include "trainer/models/class_embedding.h"

namespace sgm::train {

void check_classes(const data::ShardedDataset& dataset, const std::string& path,
                   std::int64_t num_classes, double label_dropout) {
  if (!(label_dropout >= 0.0 && label_dropout <= 1.0))
    throw core::UsageError(
        fmt::format("training.label_dropout = {}: must be in [0, 1]", label_dropout));
  if (num_classes == 0) {
    if (label_dropout > 0.0)
      throw core::UsageError(fmt::format(
          "training.label_dropout = {} needs a class-conditional network (model.num_classes > 0)",
          label_dropout));
    return;
  }
  if (!dataset.labelled())
    throw core::UsageError(
        fmt::format("model.num_classes = {} but the dataset {} has no labels", num_classes, path));
  if (dataset.num_classes() > num_classes)
    throw core::UsageError(fmt::format("model.num_classes = {} but the dataset {} has {} classes",
                                       num_classes, path, dataset.num_classes()));
}

at::Tensor training_classes(const at::Tensor& labels, const at::Tensor& positions,
                            std::int64_t num_classes, double label_dropout,
                            const core::CounterRng& rng) {
  if (num_classes == 0) return {};
  at::Tensor classes = labels.to(at::kLong);
  if (label_dropout > 0.0) {
    const at::Tensor u = rng.uniform(positions, 1, core::RngStream::kClassDropout).view({-1});
    classes = at::where(u < label_dropout, at::full_like(classes, -1), classes);
  }
  return models::class_one_hot(classes, num_classes);
}

}  // namespace sgm::train
