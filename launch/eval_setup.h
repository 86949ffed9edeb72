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
// eval.enable_* groups), with the options of every group taken from `config`.
eval::EvaluationOptions evaluation_options(const cli::Config& config, const std::string& workdir,
                                           const std::string& mode);

eval::SweepOptions sweep_options(const cli::Config& config);

// The [sampling] section as the evaluation library's sampler options (also the snapshot
// samples of sgm-train).
eval::SamplingOptions sampling_options(const cli::SamplingSection& section);

eval::Weights weights_of(const train::Checkpoint& checkpoint);

// The snapshots of the run in `workdir`.
eval::SnapshotSource snapshot_source(const std::string& workdir);

}  // namespace sgm::launch
