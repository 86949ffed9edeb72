// sgm-eval's wiring: the resolved configuration as the evaluation library's options, and the
// training run's checkpoint store as the weights it evaluates (eval/ may not depend on train/).
#pragma once

#include <string>

#include "eval/evaluator.h"
#include "eval/sweep.h"
#include "launch/cli/config.h"
#include "trainer/train/checkpoint.h"

namespace sgm::launch {

// What `mode` computes (sample: samples only; fid: samples and FID/IS/KID; bpd; sweep: the
// eval.enable_* groups): the [eval] keys as parsed, with the training run's network, seed,
// loss and data directories, and eval.batch_size and the seed given to every group.
eval::EvaluationOptions evaluation_options(const cli::Config& config, const std::string& workdir,
                                           const std::string& mode);

// The sweep keys with the training run's snapshot_freq and n_iters.
eval::SweepOptions sweep_options(const cli::Config& config);

eval::Weights weights_of(const train::Checkpoint& checkpoint);

// The snapshots of the run in `workdir`, each read as eval::evaluated_weights with `use_ema`.
eval::SnapshotSource snapshot_source(const std::string& workdir, bool use_ema);

}  // namespace sgm::launch
