// The class labels of a class-conditional training run (model.num_classes = K > 0): the dataset
// must be labelled with at most K classes, and each label of a batch is replaced by "no class"
// with probability training.label_dropout, so that one network learns p(x | y) and p(x) (for
// classifier-free guidance), as EDM's label_dropout does.
#pragma once

#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

#include "data/sharded_dataset.h"
#include "trainer/core/rng.h"

namespace sgm::train {

// core::UsageError naming the key and the dataset when the run and its data do not agree.
void check_classes(const data::ShardedDataset& dataset, const std::string& path,
                   std::int64_t num_classes, double label_dropout);

// The network's class rows for a micro-batch: one-hot float [B, K] of labels [B], a label
// dropped (a row of zeros) when the uniform of its stream position (RngStream::kClassDropout)
// is below label_dropout: the same labels drop at any world size and after any restart.
// Undefined when num_classes is 0.
at::Tensor training_classes(const at::Tensor& labels, const at::Tensor& positions,
                            std::int64_t num_classes, double label_dropout,
                            const core::CounterRng& rng);

}  // namespace sgm::train
