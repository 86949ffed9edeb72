// Evaluation of one checkpoint, shared by every sgm-eval mode and the sweep: the enabled groups
// (samples with FID/IS/KID, bits/dim, the evaluation loss) that the results table does not hold
// yet for this step and these options are computed, recorded (eval/results.jsonl and .csv) and
// plotted (eval/<metric>.png). Work goes to eval/ckpt-<step>/{samples, bpd-<split>, loss}.
// Every rank constructs the Evaluator and calls it in the same order (collectives inside).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "eval/bpd_job.h"
#include "eval/eval_network.h"
#include "eval/loss_job.h"
#include "eval/results_table.h"
#include "eval/sample_job.h"
#include "trainer/core/workdir_lock.h"
#include "trainer/dist/communicator.h"

namespace sgm::eval {

// The [eval] keys, and what one evaluation computes. The keys are declared here; sgm-eval
// sets the rest from its mode and the training run's configuration (the network, the seed, the
// loss, the data directories).
struct EvaluationOptions {
  NetworkOptions network;
  std::string eval_dir;  // <workdir>/eval
  // Each checkpoint's output directory (eval_dir/ckpt-STEP) is locked while it is evaluated
  // (core/workdir_lock.h): sweeps may share eval_dir, two writers of one checkpoint's output
  // may not. Seconds without a heartbeat before such a lock is stale (training.lock_timeout).
  double lock_timeout = 300;
  // A sweep waits while another job evaluates the same checkpoint, then skips what it recorded;
  // a single evaluation is refused (core::LockHeld).
  bool wait_for_busy_output = false;

  // What a sweep computes (a single mode computes its own group).
  bool enable_sampling = false;
  bool enable_loss = true;
  bool enable_bpd = false;
  std::string bpd_dataset = "test";  // train (data.path) | test (data_path)
  std::string data_path;             // the evaluation (test) split
  std::int64_t batch_size = 1024;    // of every round: samples, bits/dim, loss
  // Disjoint sets of eval.num_samples each (set k: sample indices from k * num_samples, EDM's
  // seeds convention), scored one by one and summarised as mean, std and min.
  std::int64_t seed_sets = 1;

  bool sampling = false;
  SampleJobOptions samples;
  bool image_metrics = false;  // FID/IS/KID over the samples (needs both files below)
  std::string inception_weights;
  std::string ref_stats;
  ImageMetricOptions metrics;

  bool bpd = false;
  BpdJobOptions bpd_options;
  std::string bpd_data;   // dataset directory of the bpd split
  std::string bpd_split;  // its name, for directories and records

  bool loss = false;
  LossJobOptions loss_options;
  std::string loss_data;

  void declare_keys(core::Keys& k) {
    k("eval.batch_size", batch_size, "global evaluation batch size");
    k("eval.enable_sampling", enable_sampling, "draw samples and compute FID/IS/KID");
    k("eval.seed_sets", seed_sets,
      "disjoint sets of eval.num_samples (set k: samples k*N..(k+1)*N-1); FID/IS/KID per set "
      "and their mean, std and min");
    k("eval.enable_loss", enable_loss, "compute the evaluation loss");
    k("eval.enable_bpd", enable_bpd, "compute bits/dim through the probability-flow ODE");
    k("eval.bpd_dataset", bpd_dataset,
      "train (data.path) | test (eval.data_path) split for bits/dim");
    k("eval.data_path", data_path,
      "HDF5 shards of the evaluation (test) split, for bits/dim and the evaluation loss");
    k("eval.inception_weights", inception_weights,
      "pt_inception-2015-12-05-6726825d.pth converted by eval/tools/inception_weights_to_h5.py");
    k("eval.ref_stats", ref_stats,
      "reference statistics .npz: mu and sigma (pytorch-fid, EDM, sgm-eval stats) or pool_3 "
      "(score_sde; enables KID)");
    network.declare_keys(k);
    samples.declare_keys(k);
    metrics.declare_keys(k);
    bpd_options.declare_keys(k);
  }
};

class Evaluator {
 public:
  // Loads the detector and the reference statistics when image metrics are on (collective).
  Evaluator(EvaluationOptions options, dist::Communicator& comm, const at::Device& device);
  ~Evaluator();

  // True on every rank when every enabled group is recorded for `step`.
  bool complete(std::int64_t step);
  // Computes what is missing for these weights; returns the records added (rank 0; empty on
  // the others).
  std::vector<ResultRecord> evaluate(const Weights& weights);

  const EvaluationOptions& options() const { return o_; }
  const ResultsTable& results() const { return table_; }

  // Another sampler for the sample group (sgm-eval nfe), its rounds in ckpt-STEP/`dir_name`
  // (empty: the task's own directory, samples/inpaint/colorize).
  void set_samples(SampleJobOptions samples, std::string dir_name);
  // The configuration of the sample group (all seed sets), as its records carry it.
  std::string samples_config() const;

 private:
  // The configuration of seed set k alone.
  std::string set_config(std::int64_t k) const;
  SampleJobOptions sample_set(std::int64_t k) const;
  // Draws and scores seed set k unless recorded; returns its values per metric (rank 0).
  std::map<std::string, double> evaluate_set(const Weights& w, std::int64_t k,
                                             const std::string& dir, const EvalNetwork& net,
                                             std::vector<ResultRecord>& added);
  void add(const ResultRecord& r, std::vector<ResultRecord>& added);
  std::string bpd_config() const;
  std::string loss_config() const;
  // Takes the lock of a checkpoint's output directory (rank 0). Busy: refuses, or in a sweep
  // waits and returns false when the other job recorded everything meanwhile.
  bool lock_output(const std::string& dir, std::int64_t step,
                   std::unique_ptr<core::WorkdirLock>& lock);
  bool recorded(std::int64_t step, const std::vector<std::string>& metrics,
                const std::string& config);
  void plot() const;

  EvaluationOptions o_;
  std::string samples_dir_name_;
  dist::Communicator& comm_;
  at::Device device_;
  struct Detector;
  std::unique_ptr<Detector> detector_;
  ResultsTable table_;
};

}  // namespace sgm::eval
