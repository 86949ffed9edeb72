// sgm-eval phema: the post-hoc EMA of a chosen width from a run that kept profiles
// (training.phema), written as a new run directory that every sgm-eval mode (and sgm-train, to
// fine-tune) takes like any other.
#pragma once

#include <string>

namespace sgm::launch {

// Reconstructs the EMA of relative width `sigma_rel` at `checkpoint` (a checkpoint directory, or
// a work directory: its newest valid checkpoint) from the snapshots of its run up to it, and
// writes `out`/config.cfg (the run's configuration), `out`/checkpoints/snapshot-<step> (the
// checkpoint with the reconstruction as its EMA) and `out`/phema.json (the width, the exponent,
// the checkpoints and coefficients used). `out` must not hold checkpoints. Returns a one-line
// summary.
std::string posthoc_ema_run(const std::string& checkpoint, const std::string& out,
                            double sigma_rel);

}  // namespace sgm::launch
