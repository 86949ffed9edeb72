// `sgm-eval sweep`: every snapshot k = begin_ckpt, begin_ckpt + stride, ..., end_ckpt (score_sde's
// checkpoint index, at step k * training.snapshot_freq) through the Evaluator, resumable: a
// snapshot whose enabled metrics are recorded is skipped, partial rounds are reused. A snapshot
// not written yet is waited for only up to eval.wait_timeout seconds (never forever: score_sde
// polls for checkpoint_20 of a run that stopped at 19 for ever), and one beyond the end of a
// finished training run (its final snapshot at training.n_iters exists) is reported and skipped.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "eval/eval_network.h"
#include "eval/evaluator.h"
#include "trainer/dist/communicator.h"

namespace sgm::eval {

// The committed snapshots of a training run (the launch layer reads train's checkpoint store).
struct SnapshotSource {
  std::function<std::vector<std::int64_t>()> steps;  // ascending
  std::function<Weights(std::int64_t step)> load;
};

struct SweepOptions {
  std::int64_t begin_ckpt = 9;
  std::int64_t end_ckpt = 26;
  std::int64_t stride = 1;
  // The training run's (train::TrainOptions), set by sgm-eval.
  std::int64_t snapshot_freq = 0;
  std::int64_t n_iters = 0;
  double wait_timeout = 0;  // seconds to wait for a snapshot not written yet (0: do not wait)
  double poll_seconds = 30;

  void declare_keys(core::Keys& k) {
    k("eval.begin_ckpt", begin_ckpt, "first snapshot index of a sweep");
    k("eval.end_ckpt", end_ckpt, "last snapshot index of a sweep (inclusive)");
    k("eval.ckpt_stride", stride, "a sweep visits every this many snapshot indices");
    k("eval.wait_timeout", wait_timeout,
      "seconds a sweep waits for a snapshot not written yet (0: skip it; never forever)");
  }
};

struct SweepSummary {
  std::int64_t evaluated = 0;     // snapshots that got new records
  std::int64_t already_done = 0;  // every enabled metric was recorded
  std::int64_t not_written = 0;   // not there (yet), no waiting asked for
  std::int64_t never = 0;         // beyond the end of the finished training run
};

// Collective. Throws StopRequested on a signal (exit 3) and core::Error when a snapshot did not
// appear within the timeout.
SweepSummary run_sweep(const SweepOptions& options, const SnapshotSource& source,
                       Evaluator& evaluator, dist::Communicator& comm);

}  // namespace sgm::eval
