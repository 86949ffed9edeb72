// The interface every score network implements: net(x, labels), plus the names the reference
// implementation (score_sde_pytorch) gives to the same parameters, for importing its weights.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>

#include "trainer/core/named_tensors.h"

namespace sgm::models {

class ScoreModel : public torch::nn::Module {
 public:
  // x: [B, C, H, W]; labels: [B], float (sigma, 999 t) or int64 (discrete index) -> [B, C, H, W].
  // class_labels: float [B, K] one-hot rows (class_one_hot; a row of zeros: no class) for a
  // network with model.num_classes = K > 0, or undefined (no class).
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels,
                                const torch::Tensor& class_labels) = 0;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels) {
    return forward(x, labels, torch::Tensor());
  }
  // K, or 0 for a network without classes.
  virtual std::int64_t num_classes() const { return 0; }

  // (our name, reference state_dict key) for every parameter and buffer, in the reference's
  // registration order (the order of its parameters(), which its EMA shadow list follows).
  virtual std::vector<std::pair<std::string, std::string>> reference_names() const = 0;

  std::int64_t num_trainable_parameters() const;
  std::int64_t num_frozen_parameters() const;

  // Parameters per top-level part, then "frozen parameters: F" and, last, "parameters: N"
  // (trainable parameters as a plain integer).
  std::string summary() const;
};

// Every parameter, then every buffer, by name (live tensors): what a checkpoint's `model` group
// holds.
core::NamedTensors named_state(ScoreModel& model);

}  // namespace sgm::models
