// Class-conditional sampling by classifier guidance (Song et al. 2021 §5 and
// App. I): every predictor and corrector uses s(x, t) + w ∇x log p(y | x, t) with a
// noise-conditional classifier, w = 1 in the paper. The gradient is per sample (the classifier
// must not mix samples, e.g. batch-norm statistics in eval mode).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <ATen/core/Tensor.h>

#include "trainer/sde/sde.h"

namespace sgm::eval {

// (x [B, C, H, W] float32 in the model's data space, t [B]) -> logits [B, K].
using ClassifierFn = std::function<at::Tensor(const at::Tensor& x, const at::Tensor& t)>;

// s(x, t) + scale ∇x log softmax(classifier(x, t))[labels]; labels [B] int64 on x's device.
sde::ScoreFn guided_score(sde::ScoreFn score, ClassifierFn classifier, at::Tensor labels,
                          double scale);

// A TorchScript classifier file (torch.jit.save of a module whose forward(x, sigma) returns
// logits; sigma [B] = the SDE's marginal std at t, the noise level score_sde's noise-conditional
// Wide-ResNet takes). Errors name eval.classifier and the file.
ClassifierFn load_torchscript_classifier(const std::string& path,
                                         std::shared_ptr<const sde::SDE> sde,
                                         const at::Device& device);

// The label of sample i: `label` >= 0 for every sample, or i mod num_classes when label < 0.
at::Tensor sample_labels(const at::Tensor& indices, std::int64_t label, std::int64_t num_classes);

}  // namespace sgm::eval
