// Reading checkpoints that Python's torch.save wrote (zip container, pickle protocol 2) in the
// layout of score_sde_pytorch's utils.save_checkpoint: {'model': state_dict with
// 'module.' keys, 'ema': {decay, num_updates, shadow_params}, 'optimizer': ..., 'step': int}.
// LibTorch's own torch::pickle_load rejects these files (it fails on the OrderedDict state
// dicts), so a small unpickler for the opcodes torch.save emits reads the pickle, and the zip
// records are read with LibTorch's PyTorchStreamReader.
#pragma once

#include <cstdint>
#include <functional>
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
// uses pickle constructs outside what torch.save writes for such a dict. A malformed or hostile
// file ends there too: sizes are checked against the file before anything is allocated, the
// pickle machine works on a flat arena (no recursion), and tensor views must lie in their storage.
ReferenceCheckpoint read_reference_checkpoint(const std::string& path);
// The same for the file's bytes already in memory; `path` names it in errors.
ReferenceCheckpoint parse_reference_checkpoint(const std::string& bytes, const std::string& path);

// Where an unpickled checkpoint's storages come from: the size in bytes of a record
// ("data/<key>"), throwing core::UsageError when there is none, and its bytes into `dst`.
// `stated`: the size the pickle states, checked against the answer (an archive ignores it; a
// source that makes records up, as the fuzz target does, may answer with it).
struct PickleStorages {
  std::function<std::size_t(const std::string& record, std::size_t stated)> size;
  std::function<void(const std::string& record, void* dst, std::size_t bytes)> read;
};
// The checkpoint from torch.save's pickle (the archive's data.pkl) alone.
ReferenceCheckpoint parse_reference_pickle(const char* pickle, std::size_t size,
                                           const PickleStorages& storages,
                                           const std::string& path);

}  // namespace sgm::models
