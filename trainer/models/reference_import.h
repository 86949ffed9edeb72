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

// Copies `state` into `model` (converting dtype/device). Throws core::UsageError listing the
// missing, unexpected and mis-shaped keys (at most a few of each) when they do not match.
void load_reference_state(ScoreModel& model, const std::map<std::string, at::Tensor>& state);

// Copies score_sde's EMA shadow_params (the trainable parameters, in the order of its
// parameters(), frozen ones such as the Fourier W skipped) into the model's parameters.
// Throws core::UsageError when the count or a shape differs.
void load_reference_ema(ScoreModel& model, const std::vector<at::Tensor>& shadow);

}  // namespace sgm::models
