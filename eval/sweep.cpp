#include "eval/sweep.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "eval/rounds.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"

namespace sgm::eval {
namespace {

enum class Presence : std::int64_t { kThere = 0, kNotYet = 1, kNever = 2 };

// Rank 0 looks; every rank gets its answer.
Presence presence(std::int64_t step, const SweepOptions& o, const SnapshotSource& source,
                  dist::Communicator& comm) {
  std::int64_t answer = 0;
  if (comm.rank() == 0) {
    const std::vector<std::int64_t> steps = source.steps();
    const bool there = std::find(steps.begin(), steps.end(), step) != steps.end();
    const bool finished = std::find(steps.begin(), steps.end(), o.n_iters) != steps.end();
    answer = static_cast<std::int64_t>(there                          ? Presence::kThere
                                       : finished && step > o.n_iters ? Presence::kNever
                                                                      : Presence::kNotYet);
  }
  return static_cast<Presence>(comm.all_reduce(answer, dist::ReduceOp::kMax, "snapshot"));
}

}  // namespace

SweepSummary run_sweep(const SweepOptions& o, const SnapshotSource& source, Evaluator& evaluator,
                       dist::Communicator& comm) {
  SGM_CHECK(o.stride >= 1 && o.snapshot_freq >= 1, "sweep: stride {} snapshot_freq {}", o.stride,
            o.snapshot_freq);
  SweepSummary summary;
  for (std::int64_t k = o.begin_ckpt; k <= o.end_ckpt; k += o.stride) {
    check_stop(comm);
    const std::int64_t step = k * o.snapshot_freq;
    if (evaluator.complete(step)) {
      core::log::info("snapshot {} (step {}): recorded already", k, step);
      ++summary.already_done;
      continue;
    }
    Presence p = presence(step, o, source, comm);
    const auto start = std::chrono::steady_clock::now();
    while (p == Presence::kNotYet && o.wait_timeout > 0) {
      const double waited =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (waited >= o.wait_timeout) {
        throw core::Error(
            fmt::format("snapshot {} (step {}) did not appear within eval.wait_timeout = {} s", k,
                        step, o.wait_timeout));
      }
      core::log::info("snapshot {} (step {}): waiting ({:.0f} of {} s)", k, step, waited,
                      o.wait_timeout);
      const double pause = std::min(o.poll_seconds, o.wait_timeout - waited);
      std::this_thread::sleep_for(std::chrono::duration<double>(pause));
      check_stop(comm);
      p = presence(step, o, source, comm);
    }
    if (p == Presence::kNever) {
      core::log::info("snapshot {} (step {}): never written (training ended at step {})", k, step,
                      o.n_iters);
      ++summary.never;
      continue;
    }
    if (p == Presence::kNotYet) {
      core::log::warn("snapshot {} (step {}): not written yet; skipped (eval.wait_timeout waits)",
                      k, step);
      ++summary.not_written;
      continue;
    }
    evaluator.evaluate(source.load(step));
    ++summary.evaluated;
  }
  return summary;
}

}  // namespace sgm::eval
