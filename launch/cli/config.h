// The resolved configuration of an sgm job: the option structs of the libraries that consume
// the keys, side by side. Keys are named as in score_sde's ml_collections configs
// (training.batch_size, model.ch_mult, optim.warmup, ...); each is declared once, with its
// default and meaning, by the struct that holds it (its declare_keys). The defaults are
// score_sde's ve/cifar10_ncsnpp_continuous; config files hold overrides.
#pragma once

#include <string>

#include "eval/evaluator.h"
#include "eval/nfe_sweep.h"
#include "eval/reference_stats.h"
#include "eval/sweep.h"
#include "launch/snapshot_options.h"
#include "trainer/core/keys.h"
#include "trainer/dist/communicator.h"
#include "trainer/dist/context.h"
#include "trainer/train/train_loop.h"

namespace sgm::cli {

struct Config {
  train::TrainOptions train;  // seed, [training], [data], [model], [optim], dist buckets
  launch::SnapshotSampleOptions snapshots;
  eval::EvaluationOptions eval;  // [sampling] and [eval]
  eval::SweepOptions sweep;
  eval::NfeSweepOptions nfe_sweep;
  eval::DatasetStatsOptions stats;
  dist::ContextOptions dist;
  dist::CommOptions comm;
  std::string dataset = "CIFAR10";  // data.dataset: a name recorded with the run

  void declare_keys(core::Keys& k) {
    train.declare_keys(k);
    snapshots.declare_keys(k);
    eval.declare_keys(k);
    sweep.declare_keys(k);
    nfe_sweep.declare_keys(k);
    stats.declare_keys(k);
    k("data.dataset", dataset, "dataset name (informational; the data come from data.path)");
    dist.declare_keys(k);
    comm.declare_keys(k);
  }
};

}  // namespace sgm::cli
