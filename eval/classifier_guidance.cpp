#include "eval/classifier_guidance.h"

#include <filesystem>
#include <utility>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/script.h>

#include "trainer/core/error.h"

namespace sgm::eval {

sde::ScoreFn guided_score(sde::ScoreFn score, ClassifierFn classifier, at::Tensor labels,
                          double scale) {
  return [score = std::move(score), classifier = std::move(classifier), labels = std::move(labels),
          scale](const at::Tensor& x, const at::Tensor& t) {
    at::Tensor grad;
    {
      c10::AutoGradMode enable(true);
      const at::Tensor input = x.detach().requires_grad_(true);
      const at::Tensor logits = classifier(input, t);
      SGM_CHECK(logits.dim() == 2 && logits.size(0) == x.size(0),
                "classifier guidance: the classifier must return logits [B, K]");
      const at::Tensor chosen =
          at::log_softmax(logits.to(at::kDouble), 1).gather(1, labels.view({-1, 1}));
      grad = torch::autograd::grad({chosen.sum()}, {input})[0];
    }
    return score(x, t) + grad.to(x.scalar_type()) * scale;
  };
}

ClassifierFn load_torchscript_classifier(const std::string& path,
                                         std::shared_ptr<const sde::SDE> sde,
                                         const at::Device& device) {
  if (!std::filesystem::is_regular_file(path))
    throw core::UsageError(fmt::format("eval.classifier: {} does not exist", path));
  auto module = std::make_shared<torch::jit::Module>();
  try {
    *module = torch::jit::load(path, device);
  } catch (const c10::Error& e) {
    throw core::UsageError(fmt::format("eval.classifier: {} is not a TorchScript module ({})", path,
                                       e.what_without_backtrace()));
  }
  module->eval();
  return [module, sde](const at::Tensor& x, const at::Tensor& t) {
    const at::Tensor sigma = sde->marginal_prob(x, t).std.to(at::kFloat);
    return module->forward({x, sigma}).toTensor();
  };
}

at::Tensor sample_labels(const at::Tensor& indices, std::int64_t label, std::int64_t num_classes) {
  if (label >= 0) return at::full_like(indices, label);
  SGM_CHECK(num_classes > 0, "sample_labels: needs the number of classes");
  return indices.remainder(num_classes);
}

}  // namespace sgm::eval
