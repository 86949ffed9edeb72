// Reading checkpoints that Python's torch.save wrote (zip container, pickle protocol 2) in the
// layout of score_sde_pytorch's utils.save_checkpoint: {'model': state_dict with
// 'module.' keys, 'ema': {decay, num_updates, shadow_params}, 'optimizer': ..., 'step': int}.
// LibTorch's own torch::pickle_load rejects these files (it fails on the OrderedDict state
// dicts), so a small unpickler for the opcodes torch.save emits reads the pickle, and the zip
// records are read with LibTorch's PyTorchStreamReader.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace sgm::models {

// torch.optim.Adam's state for one parameter.
struct AdamMoments {
  at::Tensor exp_avg, exp_avg_sq;
  std::int64_t steps = 0;
};

struct ReferenceCheckpoint {
  std::map<std::string, at::Tensor> model;  // state_dict as stored (keys may carry "module.")
  std::vector<at::Tensor> ema_shadow;       // trainable parameters in parameters() order
  double ema_decay = 0;
  std::int64_t ema_num_updates = 0;
  std::int64_t step = 0;
  // optimizer.state by parameter index (frozen parameters included in the numbering; only those
  // Adam has stepped have an entry) and how many parameters its param_groups list.
  std::map<std::int64_t, AdamMoments> adam;
  std::int64_t adam_parameters = 0;
};

// Throws core::UsageError naming the file when it is missing, not a torch zip checkpoint, or
// uses pickle constructs outside what torch.save writes for such a dict.
ReferenceCheckpoint read_reference_checkpoint(const std::string& path);

}  // namespace sgm::models
