// Evaluation of one checkpoint, shared by every sgm-eval mode and the sweep: the enabled groups
// (samples with FID/IS/KID, bits/dim, the evaluation loss) that the results table does not hold
// yet for this step and these options are computed, recorded (eval/results.jsonl and .csv) and
// plotted (eval/<metric>.png). Work goes to eval/ckpt-<step>/{samples, bpd-<split>, loss}.
// Every rank constructs the Evaluator and calls it in the same order (collectives inside).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "eval/bpd_job.h"
#include "eval/eval_network.h"
#include "eval/loss_job.h"
#include "eval/results_table.h"
#include "eval/sample_job.h"
#include "trainer/dist/communicator.h"

namespace sgm::eval {

struct EvaluationOptions {
  NetworkOptions network;
  std::string eval_dir;  // <workdir>/eval

  bool sampling = false;
  SampleJobOptions samples;
  bool image_metrics = false;     // FID/IS/KID over the samples (needs both files below)
  std::string inception_weights;  // eval.inception_weights (converted .h5)
  std::string ref_stats;          // eval.ref_stats (.npz: mu/sigma or pool_3)
  ImageMetricOptions metrics;

  bool bpd = false;
  BpdJobOptions bpd_options;
  std::string bpd_data;   // dataset directory of the bpd split
  std::string bpd_split;  // its name, for directories and records

  bool loss = false;
  LossJobOptions loss_options;
  std::string loss_data;
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

 private:
  std::string samples_config() const;
  std::string bpd_config() const;
  std::string loss_config() const;
  bool recorded(std::int64_t step, const std::vector<std::string>& metrics,
                const std::string& config);
  void plot() const;

  EvaluationOptions o_;
  dist::Communicator& comm_;
  at::Device device_;
  struct Detector;
  std::unique_ptr<Detector> detector_;
  ResultsTable table_;
};

}  // namespace sgm::eval
