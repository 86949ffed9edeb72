// sgm-train's snapshot samples, bound to the evaluation library's sampler as score_sde's
// run_lib.train samples at each snapshot: eval.grid samples with the EMA weights, drawn with the
// [sampling] section's sampler (the SDE discretised in training.snapshot_sample_steps levels,
// model.num_scales when 0), tiled into WORKDIR/samples/snapshot-<step>.png.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "launch/cli/config.h"
#include "trainer/models/registry.h"

namespace sgm::launch {

using SnapshotSampler = std::function<void(std::int64_t step, models::ScoreModel& ema_model)>;

// Checks the sampler options now (core::UsageError naming the key), so a bad [sampling] section
// stops the job before it trains.
SnapshotSampler snapshot_sampler(const cli::Config& config, const std::string& workdir);

}  // namespace sgm::launch
