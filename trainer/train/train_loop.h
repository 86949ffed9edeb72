// The training job: sgm-train's loop, as score_sde's run_lib.train and EDM's training_loop
// read, in captioned paragraphs of one function.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "data/loader.h"
#include "trainer/dist/communicator.h"
#include "trainer/dist/context.h"
#include "trainer/dist/reducer.h"
#include "trainer/models/options.h"
#include "trainer/models/registry.h"
#include "trainer/sde/registry.h"
#include "trainer/train/ema.h"
#include "trainer/train/optimizer.h"
#include "trainer/train/precision.h"

namespace sgm::train {

// Everything the loop needs, assembled from the configuration by sgm-train.
struct TrainOptions {
  std::string workdir;
  std::string config_text;  // the resolved configuration, stored in checkpoints
  std::uint64_t seed = 42;
  std::string data_path;
  data::LoaderOptions loader;  // global batch, flips, dequantisation, centring (rank set here)
  models::ModelOptions model;
  models::DataShape shape;
  sde::SdeOptions sde;
  bool continuous = true;
  bool reduce_mean = false;
  bool likelihood_weighting = false;
  std::int64_t n_iters = 1000;    // optimizer steps in total
  std::int64_t log_freq = 50;     // status line and metrics.jsonl
  std::int64_t meta_freq = 1000;  // preemption checkpoints (training.snapshot_freq_for_preemption)
  std::int64_t snapshot_freq = 5000;  // permanent checkpoints
  int keep_meta = 3;
  std::int64_t batch_per_rank = 0;  // micro-batch per rank (0: the whole local batch)
  std::int64_t max_nonfinite = 10;  // consecutive skipped steps before giving up
  // Called on rank 0 at every snapshot with the model holding the EMA weights, in eval mode:
  // sgm-train binds the evaluation library's sampler here (the sample grid). Empty: nothing.
  std::function<void(std::int64_t step, models::ScoreModel& ema_model)> on_snapshot;
  std::int64_t profile_steps = 0;  // the last N steps under the profiler (WORKDIR/profile.json)
  AdamOptions adam;
  EmaOptions ema;
  dist::ReducerOptions reducer;
  PrecisionOptions precision;
};

// Trains until n_iters steps are done (returns core::kExitOk) or a stop signal arrives (saves a
// checkpoint on every rank's same step, returns core::kExitStopped). Resumes from the newest
// valid checkpoint in workdir when there is one.
int run_training(const TrainOptions& options, const dist::Context& context,
                 dist::Communicator& comm);

}  // namespace sgm::train
