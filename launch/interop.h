// sgm-eval import and export: runs to and from score_sde_pytorch's checkpoint files.
#pragma once

#include <string>

#include "launch/cli/config.h"

namespace sgm::launch {

// Makes `workdir` a run that sgm-train continues and sgm-eval evaluates: config.cfg (`config`
// resolved) and checkpoints/snapshot-<step>/ holding `file`'s weights, EMA, Adam moments and
// step (train::import_score_sde). Everything is read and checked before anything is written. A
// work directory that already holds checkpoints takes more only of the same configuration and at
// a step it does not have (score_sde's checkpoint_<k>.pth files of one run, for a sweep).
// Returns a one-line summary.
std::string import_run(const cli::Config& config, const std::string& file,
                       const std::string& workdir);

// Writes the checkpoint at `checkpoint` (a checkpoint or work directory) to `out`: format "pth"
// (torch.save in score_sde's layout) or "h5" (sgm's names, plus params/ and ema_params/ under
// score_sde's keys when the model has them); "" takes it from the extension of `out`. The model
// comes from the configuration stored in the checkpoint. Returns a one-line summary.
std::string export_run(const std::string& checkpoint, const std::string& out,
                       const std::string& format);

}  // namespace sgm::launch
