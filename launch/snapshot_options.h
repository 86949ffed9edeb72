// The keys of sgm-train's snapshot sample grids (launch/snapshot_samples.h draws them).
#pragma once

#include <cstdint>

#include "trainer/core/keys.h"

namespace sgm::launch {

struct SnapshotSampleOptions {
  bool enabled = true;
  std::int64_t steps = 0;  // levels of the SDE for the grid's sampler; 0: model.num_scales

  void declare_keys(core::Keys& k) {
    k("training.snapshot_sampling", enabled, "draw a PNG grid of EMA samples at each snapshot");
    k("training.snapshot_sample_steps", steps,
      "reverse-SDE steps for the snapshot sample grid (0: model.num_scales)");
  }
};

}  // namespace sgm::launch
