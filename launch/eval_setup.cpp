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

eval::SamplingOptions sampling_options(const cli::SamplingSection& s) {
  eval::SamplingOptions o;
  o.method = s.method;
  o.predictor = s.predictor;
  o.corrector = s.corrector;
  o.n_steps_each = s.n_steps_each;
  o.snr = s.snr;
  o.noise_removal = s.noise_removal;
  o.probability_flow = s.probability_flow;
  o.eps = s.eps;
  o.paper_order = s.paper_order;
  o.batch_norms = s.batch_norms;
  o.ode_solver = s.ode_solver;
  o.rtol = s.rtol;
  o.atol = s.atol;
  o.edm.steps = s.edm_steps;
  o.edm.rho = s.edm_rho;
  o.edm.sigma_min = s.edm_sigma_min;
  o.edm.sigma_max = s.edm_sigma_max;
  o.edm.churn = s.edm_churn;
  o.edm.s_min = s.edm_s_min;
  o.edm.s_max = s.edm_s_max;
  o.edm.s_noise = s.edm_s_noise;
  return o;
}

eval::EvaluationOptions evaluation_options(const cli::Config& c, const std::string& workdir,
                                           const std::string& mode) {
  const cli::EvalSection& e = c.eval;
  eval::EvaluationOptions o;
  o.network.model = c.model;
  o.network.shape = cli::data_shape(c);
  o.network.sde = cli::sde_options(c);
  o.network.continuous = c.training.continuous;
  o.network.use_ema = e.use_ema;
  o.eval_dir = (fs::path(workdir) / "eval").string();
  const auto seed = static_cast<std::uint64_t>(c.seed);

  o.sampling = mode == "sample" || mode == "fid" || (mode == "sweep" && e.enable_sampling);
  o.samples.sampling = sampling_options(c.sampling);
  eval::validate(o.samples.sampling, c.training.sde);
  o.samples.num_samples = e.num_samples;
  o.samples.batch_size = e.batch_size;
  o.samples.seed = seed;
  o.samples.quantize = e.quantize == "round" ? data::Quantize::kRound : data::Quantize::kTruncate;
  o.samples.feature_batch = e.feature_batch;
  o.samples.grid = e.grid;
  o.samples.task = e.task;
  o.samples.mask = e.mask;
  o.samples.condition_data = !e.data_path.empty() ? e.data_path : c.data.path;
  o.samples.classifier = e.classifier;
  o.samples.class_label = e.class_label;
  o.samples.num_classes = e.num_classes;
  o.samples.guidance_scale = e.guidance_scale;
  if (o.sampling && !e.classifier.empty() && !fs::is_regular_file(e.classifier))
    throw core::UsageError("eval.classifier: " + e.classifier + " does not exist");
  if (o.sampling && e.task != "sample") {
    if (e.task != "inpaint" && e.task != "colorize")
      throw core::UsageError("eval.task = '" + e.task + "': expected sample, inpaint or colorize");
    if (o.samples.condition_data.empty())
      throw core::UsageError("eval.data_path: eval.task = " + e.task + " needs images to complete");
    if (!fs::is_directory(o.samples.condition_data))
      throw core::UsageError(o.samples.condition_data + ": no such dataset directory");
    if (c.sampling.method != "pc")
      throw core::UsageError("sampling.method: eval.task = " + e.task + " needs the PC sampler");
    if (e.task == "inpaint") eval::inpainting_mask(e.mask, c.data.image_size, c.data.image_size);
  }
  o.inception_weights = e.inception_weights;
  o.ref_stats = e.ref_stats;
  // fid needs both files (the Evaluator names the missing key); a sweep computes the image
  // metrics when both are given and says so when they are not.
  o.image_metrics =
      mode == "fid" || (mode == "sweep" && !e.inception_weights.empty() && !e.ref_stats.empty());
  if (mode == "sweep" && o.sampling && !o.image_metrics) {
    core::log::warn(
        "eval.enable_sampling without eval.inception_weights and eval.ref_stats: "
        "samples only, no FID/IS/KID");
  }
  o.metrics.is_splits = e.is_splits;
  o.metrics.kid_subsets = e.kid_subsets;
  o.metrics.kid_subset_size = e.kid_subset_size;
  o.metrics.kid_seed = seed;

  const bool test = e.bpd_dataset == "test";
  o.bpd = mode == "bpd" || (mode == "sweep" && e.enable_bpd);
  o.bpd_split = e.bpd_dataset;
  o.bpd_data = test ? e.data_path : c.data.path;
  if (o.bpd && o.bpd_data.empty()) {
    throw core::UsageError(test ? "eval.data_path: bits/dim on the test split needs its shards"
                                : "data.path: bits/dim on the training split needs its shards");
  }
  o.bpd_options.likelihood.rtol = e.bpd_rtol;
  o.bpd_options.likelihood.atol = e.bpd_atol;
  o.bpd_options.likelihood.eps = e.bpd_eps;
  o.bpd_options.likelihood.divergence = e.bpd_divergence;
  o.bpd_options.likelihood.probes = e.bpd_probes;
  eval::validate(o.bpd_options.likelihood);
  o.bpd_options.batch_size = e.batch_size;
  o.bpd_options.passes = e.bpd_passes > 0 ? e.bpd_passes : (test ? 5 : 1);
  o.bpd_options.max_images = e.bpd_max_images;
  o.bpd_options.seed = seed;

  // score_sde evaluates the loss on the evaluation split; without one, on the training data.
  o.loss = mode == "sweep" && e.enable_loss;
  o.loss_data = !e.data_path.empty() ? e.data_path : c.data.path;
  if (o.loss && !c.training.continuous) {
    core::log::warn(
        "eval.enable_loss: the evaluation loss is the continuous DSM loss; "
        "training.continuous = false runs skip it");
    o.loss = false;
  }
  if (o.loss && o.loss_data.empty())
    throw core::UsageError("eval.data_path: eval.enable_loss needs evaluation data");
  o.loss_options.batch_size = e.batch_size;
  o.loss_options.reduce_mean = c.training.reduce_mean;
  o.loss_options.likelihood_weighting = c.training.likelihood_weighting;
  o.loss_options.dequantize = c.data.uniform_dequantization;
  o.loss_options.seed = seed;
  return o;
}

eval::SweepOptions sweep_options(const cli::Config& c) {
  eval::SweepOptions o;
  o.begin_ckpt = c.eval.begin_ckpt;
  o.end_ckpt = c.eval.end_ckpt;
  o.stride = c.eval.ckpt_stride;
  o.snapshot_freq = c.training.snapshot_freq;
  o.n_iters = c.training.n_iters;
  o.wait_timeout = c.eval.wait_timeout;
  o.poll_seconds = std::min(30.0, std::max(1.0, c.eval.wait_timeout / 10));
  return o;
}

eval::Weights weights_of(const train::Checkpoint& checkpoint) {
  eval::Weights w;
  w.model = checkpoint.model;
  w.ema = checkpoint.ema;
  w.step = checkpoint.state.step;
  w.source = checkpoint.path;
  w.checksum =
      core::hex64(core::file_checksum((fs::path(checkpoint.path) / "weights.h5").string()));
  return w;
}

eval::SnapshotSource snapshot_source(const std::string& workdir) {
  auto store = std::make_shared<train::CheckpointStore>(workdir, 1);
  eval::SnapshotSource s;
  s.steps = [store] { return store->snapshot_steps(); };
  s.load = [store](std::int64_t step) {
    return weights_of(train::CheckpointStore::load(store->path_of("snapshot", step)));
  };
  return s;
}

}  // namespace sgm::launch
