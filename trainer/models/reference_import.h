// Importing weights named as score_sde_pytorch names them (state_dict keys such as
// all_modules.4.Conv_0.weight, with or without the DataParallel prefix "module.").
// Strict, unlike the reference's load_state_dict(strict=False): every parameter and buffer of
// the model must be present with the same shape, and no key may be left over.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trainer/models/score_model.h"

namespace sgm::models {

// One tensor of the model as score_sde_pytorch has it: sgm's name, the reference's state_dict
// key, whether it is a parameter (else a buffer) and whether it is trained (the Fourier W is a
// frozen parameter: it counts in the optimizer's parameter numbering but has no EMA or moments).
struct ReferenceTensor {
  std::string ours, theirs;
  bool parameter = false, trainable = false;
};

// The model's tensors in the reference's order: its parameters() order, then where buffers sit.
// Empty for models without a score_sde counterpart.
std::vector<ReferenceTensor> reference_layout(ScoreModel& model);

// score_sde's EMA shadow_params (the trainable parameters, in the order of its parameters())
// under sgm's names. Throws core::UsageError when the count or a shape differs.
std::vector<std::pair<std::string, at::Tensor>> reference_ema(
    ScoreModel& model, const std::vector<at::Tensor>& shadow);

// Copies `state` into `model` (converting dtype/device). Throws core::UsageError listing the
// missing, unexpected and mis-shaped keys (at most a few of each) when they do not match.
void load_reference_state(ScoreModel& model, const std::map<std::string, at::Tensor>& state);

// Copies score_sde's EMA shadow_params (reference_ema) into the model's parameters.
void load_reference_ema(ScoreModel& model, const std::vector<at::Tensor>& shadow);

}  // namespace sgm::models
