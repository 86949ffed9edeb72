// The exponential moving average of the weights, over the reducer's flat
// parameter buffers. The update is score_sde_pytorch's ExponentialMovingAverage:
//   n += 1; d = warmup ? min(rate, (1 + n) / (10 + n)) : rate;  ema <- ema - (1 - d)(ema - p)
// done with the same element-wise operations, so it matches the reference bit for bit.
//
// Replicated (default): every rank keeps the whole EMA and updates it identically. Sharded:
// rank r keeps only its 1/W slice of each flat buffer and updates that; gather() assembles the
// whole EMA (a collective) for checkpoints and samples. Both give identical weights.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trainer/core/keys.h"
#include "trainer/dist/communicator.h"

namespace sgm::train {

struct EmaOptions {
  double rate = 0.999;
  bool warmup = true;  // the reference's (1 + n) / (10 + n) ramp
  bool sharded = false;

  void declare_keys(core::Keys& k) {
    k("model.ema_rate", rate, "exponential moving average decay of the weights");
    k("training.ema_sharded", sharded,
      "keep 1/W of the EMA per rank (gathered for checkpoints); identical weights");
  }
};

class Ema {
 public:
  // Starts from a copy of `params` (the flat buffers), as the reference does at creation.
  Ema(const std::vector<at::Tensor>& params, dist::Communicator& comm, EmaOptions options);

  // After each optimizer step, with the same buffers.
  void update(const std::vector<at::Tensor>& params);
  // The same update with a given decay (post-hoc EMA's power-function profiles).
  void update(const std::vector<at::Tensor>& params, double decay);
  // The decay the next update will use.
  double next_decay() const;
  std::int64_t num_updates() const { return num_updates_; }
  void set_num_updates(std::int64_t n) { num_updates_ = n; }

  // The whole EMA, one tensor per flat buffer. Sharded: every rank must call it.
  std::vector<at::Tensor> gather() const;
  // Loads whole EMA buffers (each rank keeps its slice when sharded).
  void load(const std::vector<at::Tensor>& full);
  bool sharded() const { return options_.sharded; }

 private:
  // This rank's slice [begin, begin + count) of a buffer of n elements (padded to W slices).
  std::int64_t slice_size(std::int64_t n) const;

  dist::Communicator& comm_;
  EmaOptions options_;
  std::vector<std::int64_t> sizes_;
  std::vector<at::Tensor> shadow_;   // whole buffers, or this rank's padded slices
  std::vector<at::Tensor> scratch_;  // per buffer, one slice of an update (core::flat_chunks.h)
  std::int64_t num_updates_ = 0;
};

}  // namespace sgm::train
