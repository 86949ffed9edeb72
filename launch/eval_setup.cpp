#include "launch/eval_setup.h"

#include <filesystem>

#include <fmt/format.h>

#include "eval/controllable.h"
#include "eval/likelihood.h"
#include "trainer/core/checksum.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"

namespace sgm::launch {
namespace fs = std::filesystem;

eval::EvaluationOptions evaluation_options(const cli::Config& c, const std::string& workdir,
                                           const std::string& mode) {
  const train::TrainOptions& t = c.train;
  eval::EvaluationOptions o = c.eval;  // the [eval] and [sampling] keys as parsed
  // The training run's network, seed and data.
  o.network.model = t.model;
  o.network.shape = t.shape;
  o.network.sde = t.sde;
  o.eval_dir = (fs::path(workdir) / "eval").string();
  o.lock_timeout = t.lock_timeout;
  o.wait_for_busy_output = mode == "sweep";
  const auto seed = static_cast<std::uint64_t>(t.seed);

  o.sampling =
      mode == "sample" || mode == "fid" || mode == "nfe" || (mode == "sweep" && o.enable_sampling);
  eval::SampleJobOptions& samples = o.samples;
  eval::validate(samples.sampling, t.sde.name);
  eval::sampler_sde_options(t.sde, samples.sampling.steps);  // a discrete model: its own levels
  samples.batch_size = o.batch_size;
  samples.seed = seed;
  samples.condition_data = !o.data_path.empty() ? o.data_path : t.data_path;
  if (o.sampling && !samples.classifier.empty() && !fs::is_regular_file(samples.classifier))
    throw core::UsageError("eval.classifier: " + samples.classifier + " does not exist");
  const std::string& task = samples.task;
  if (o.sampling && task != "sample") {
    if (task != "inpaint" && task != "colorize")
      throw core::UsageError("eval.task = '" + task + "': expected sample, inpaint or colorize");
    if (samples.condition_data.empty())
      throw core::UsageError("eval.data_path: eval.task = " + task + " needs images to complete");
    if (!fs::is_directory(samples.condition_data))
      throw core::UsageError(samples.condition_data + ": no such dataset directory");
    if (samples.sampling.method != "pc")
      throw core::UsageError("sampling.method: eval.task = " + task + " needs the PC sampler");
    if (task == "inpaint")
      eval::inpainting_mask(samples.mask, t.shape.image_size, t.shape.image_size);
  }
  // fid needs both files (the Evaluator names the missing key); a sweep computes the image
  // metrics when both are given and says so when they are not.
  o.image_metrics = mode == "fid" || mode == "nfe" ||
                    (mode == "sweep" && !o.inception_weights.empty() && !o.ref_stats.empty());
  if (mode == "sweep" && o.sampling && !o.image_metrics) {
    core::log::warn(
        "eval.enable_sampling without eval.inception_weights and eval.ref_stats: "
        "samples only, no FID/IS/KID");
  }
  o.metrics.kid_seed = seed;

  const bool test = o.bpd_dataset == "test";
  o.bpd = mode == "bpd" || (mode == "sweep" && o.enable_bpd);
  o.bpd_split = o.bpd_dataset;
  o.bpd_data = test ? o.data_path : t.data_path;
  if (o.bpd && o.bpd_data.empty()) {
    throw core::UsageError(test ? "eval.data_path: bits/dim on the test split needs its shards"
                                : "data.path: bits/dim on the training split needs its shards");
  }
  eval::validate(o.bpd_options.likelihood);
  o.bpd_options.batch_size = o.batch_size;
  if (o.bpd_options.passes == 0) o.bpd_options.passes = test ? 5 : 1;
  o.bpd_options.seed = seed;

  // score_sde evaluates the loss on the evaluation split; without one, on the training data.
  o.loss = mode == "sweep" && o.enable_loss;
  o.loss_data = !o.data_path.empty() ? o.data_path : t.data_path;
  if (o.loss && !t.sde.continuous) {
    core::log::warn(
        "eval.enable_loss: the evaluation loss is the continuous DSM loss; "
        "training.continuous = false runs skip it");
    o.loss = false;
  }
  if (o.loss && o.loss_data.empty())
    throw core::UsageError("eval.data_path: eval.enable_loss needs evaluation data");
  o.loss_options.batch_size = o.batch_size;
  o.loss_options.objective = t.loss;
  o.loss_options.dequantize = t.loader.uniform_dequantization;
  o.loss_options.seed = seed;
  return o;
}

eval::SweepOptions sweep_options(const cli::Config& c) {
  eval::SweepOptions o = c.sweep;
  o.snapshot_freq = c.train.snapshot_freq;
  o.n_iters = c.train.n_iters;
  o.poll_seconds = std::min(30.0, std::max(1.0, o.wait_timeout / 10));
  return o;
}

eval::Weights weights_of(const train::Checkpoint& checkpoint) {
  eval::Weights w;
  w.model = checkpoint.model;
  w.ema = checkpoint.ema;
  w.step = checkpoint.state.step;
  w.source = checkpoint.path;
  w.checksum =
      !checkpoint.weights_checksum.empty()
          ? checkpoint.weights_checksum
          : core::hex64(core::file_checksum((fs::path(checkpoint.path) / "weights.h5").string()));
  return w;
}

eval::SnapshotSource snapshot_source(const std::string& workdir, bool use_ema) {
  auto store = std::make_shared<train::CheckpointStore>(workdir, 1);
  eval::SnapshotSource s;
  s.steps = [store] { return store->snapshot_steps(); };
  s.load = [store, use_ema](std::int64_t step) {
    return eval::evaluated_weights(
        weights_of(train::CheckpointStore::load(store->path_of("snapshot", step),
                                                train::CheckpointParts::kWeights)),
        use_ema);
  };
  return s;
}

}  // namespace sgm::launch
