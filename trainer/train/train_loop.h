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
#include "trainer/sde/training_loss.h"
#include "trainer/train/ema.h"
#include "trainer/train/optimizer.h"
#include "trainer/train/phema.h"
#include "trainer/train/precision.h"

namespace sgm::train {

// Everything the loop needs: the keys of a training run (the defaults are score_sde's
// ve/cifar10_ncsnpp_continuous), and what sgm-train adds at run time.
struct TrainOptions {
  // Set by sgm-train.
  std::string workdir;
  std::string config_text;  // the resolved configuration, stored in checkpoints
  // Called on rank 0 at every snapshot with the model holding the EMA weights, in eval mode:
  // sgm-train binds the evaluation library's sampler here (the sample grid). Empty: nothing.
  std::function<void(std::int64_t step, models::ScoreModel& ema_model)> on_snapshot;

  // The run's keys.
  std::int64_t seed = 42;
  std::string data_path;
  std::int64_t n_iters = 1300001;
  std::int64_t log_freq = 50;
  std::int64_t snapshot_freq = 50000;
  std::int64_t meta_freq = 10000;
  std::int64_t keep_meta = 3;
  double lock_timeout = 300;  // seconds without a heartbeat before a work-directory lock is stale
  std::int64_t batch_per_rank = 0;
  std::int64_t max_nonfinite = 10;
  std::int64_t profile_steps = 0;
  double label_dropout = 0.0;
  data::LoaderOptions loader;  // rank, world size, seed and centring are set by the loop
  models::ModelOptions model;
  models::DataShape shape;
  sde::SdeOptions sde;
  sde::TrainingLossOptions loss;
  AdamOptions adam;
  EmaOptions ema;
  PhemaOptions phema;
  dist::ReducerOptions reducer;
  PrecisionOptions precision;

  void declare_keys(core::Keys& k) {
    k("seed", seed, "random seed; all randomness is keyed by (seed, global sample index)");
    k("training.n_iters", n_iters, "number of training steps");
    k("training.snapshot_freq", snapshot_freq,
      "steps between permanent snapshots (what sweeps evaluate)");
    k("training.log_freq", log_freq, "steps between status lines and metrics.jsonl records");
    k("training.snapshot_freq_for_preemption", meta_freq,
      "steps between preemption (meta) checkpoints");
    k("training.batch_per_rank", batch_per_rank,
      "micro-batch per rank; smaller than batch_size / ranks accumulates gradients (0: off)");
    k("training.max_nonfinite", max_nonfinite,
      "skipped steps with non-finite gradients in a row before the job stops");
    k("training.keep_meta", keep_meta, "preemption checkpoints to keep");
    k("training.lock_timeout", lock_timeout,
      "seconds without a heartbeat after which another job's lock on the work directory (or "
      "its eval/) counts as stale and is broken");
    k("training.profile_steps", profile_steps,
      "profile the last N steps with LibTorch's profiler: WORKDIR/profile.json (kernel time, "
      "host synchronisations, copies, top kernels); 0: off");
    k("training.label_dropout", label_dropout,
      "probability that a training label becomes 'no class', so that a class-conditional "
      "network also learns the unconditional score (classifier-free guidance)");
    k("data.path", data_path, "directory of HDF5 shards made by sgm-data");
    loader.declare_keys(k);
    loss.declare_keys(k);
    sde::declare_keys(sde, k);
    ema.declare_keys(k);
    phema.declare_keys(k);
    precision.declare_keys(k);
    shape.declare_keys(k);
    model.declare_keys(k);
    adam.declare_keys(k);
    reducer.declare_keys(k);
  }
};

// Trains until n_iters steps are done (returns core::kExitOk) or a stop signal arrives (saves a
// checkpoint on every rank's same step, returns core::kExitStopped). Resumes from the newest
// valid checkpoint in workdir when there is one.
int run_training(const TrainOptions& options, const dist::Context& context,
                 dist::Communicator& comm);

}  // namespace sgm::train
