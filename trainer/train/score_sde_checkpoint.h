// Checkpoints of score_sde_pytorch, both ways. In: its torch.save checkpoints ({'model',
// 'ema', 'optimizer', 'step'}, written by utils.save_checkpoint) and HDF5 files of its
// state_dict (/params/<key>, as the parity fixtures and sgm's own HDF5 export hold), read into
// an sgm checkpoint. Out: the same torch.save layout, written with LibTorch's pickler (no
// Python), that torch.load opens and score_sde's restore_checkpoint resumes from.
#pragma once

#include <string>

#include "trainer/models/score_model.h"
#include "trainer/train/checkpoint.h"
#include "trainer/train/optimizer.h"

namespace sgm::train {

// `file`'s weights, EMA and Adam moments as a checkpoint of `model` under sgm's names, and its
// counters (step, EMA updates, Adam steps); the caller sets seed, config and images_seen.
// A /params file has no EMA or moments: the EMA starts at the weights, the moments at zero.
// Strict: a missing, unexpected or mis-shaped key, a buffer whose values differ from what the
// configuration gives (the noise levels), or an optimizer that does not number the model's
// parameters throws core::UsageError naming the file and the key. `model` is left holding the
// imported weights.
Checkpoint import_score_sde(const std::string& file, models::ScoreModel& model);

// Writes `checkpoint` of `model` to `out` as torch.save does, in score_sde's layout: 'model'
// (state_dict, keys with DataParallel's "module." prefix), 'ema' ({'decay', 'num_updates',
// 'shadow_params'}), 'optimizer' (torch.optim.Adam's state_dict with `adam`'s settings) and
// 'step'. Whole or not at all; throws core::UsageError when the model has no score_sde
// counterpart.
void export_score_sde(const Checkpoint& checkpoint, models::ScoreModel& model,
                      const AdamOptions& adam, double ema_rate, const std::string& out);

// The weights under score_sde's state_dict keys (no prefix): `weights` (sgm's names; a
// checkpoint's model or EMA group, the rest taken from `fallback`) renamed through the model's
// layout. Empty for a model without a score_sde counterpart.
core::NamedTensors score_sde_state(models::ScoreModel& model, const core::NamedTensors& weights,
                                   const core::NamedTensors& fallback);

}  // namespace sgm::train
