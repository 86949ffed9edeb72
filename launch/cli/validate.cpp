#include "launch/cli/validate.h"

#include <algorithm>
#include <initializer_list>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "eval/sampling.h"
#include "trainer/core/key_checks.h"
#include "trainer/models/registry.h"
#include "trainer/sde/registry.h"
#include "trainer/sde/training_loss.h"

namespace sgm::cli {
namespace {

using core::at_least;
using core::positive;

[[noreturn]] void fail(const std::string& key, const std::string& what) {
  core::fail_key(key, what);
}

void one_of(const std::string& key, const std::string& value,
            std::initializer_list<const char*> choices) {
  for (const char* c : choices) {
    if (value == c) return;
  }
  fail(key, fmt::format("'{}' is not one of {}", value, fmt::join(choices, ", ")));
}

void in_unit_interval(const std::string& key, double value) {
  if (!(value >= 0 && value < 1)) fail(key, fmt::format("{} must lie in [0, 1)", value));
}

void validate_model(const Config& c) {
  const models::ModelOptions& m = c.train.model;
  if (core::find_entry(models::model_registry(), m.name) == nullptr)
    fail("model.name", fmt::format("'{}' is not one of {}", m.name, models::model_names()));
  const sde::SdeOptions& sd = c.train.sde;
  one_of("model.embedding_type", m.embedding_type, {"fourier", "positional"});
  one_of("model.normalization", m.normalization, {"GroupNorm", "InstanceNorm", "InstanceNorm++"});
  one_of("model.nonlinearity", m.nonlinearity, {"swish", "elu", "relu", "lrelu"});
  one_of("model.resblock_type", m.resblock_type, {"biggan", "ddpm"});
  one_of("model.progressive", m.progressive, {"none", "output_skip", "residual"});
  one_of("model.progressive_input", m.progressive_input, {"none", "input_skip", "residual"});
  one_of("model.progressive_combine", m.progressive_combine, {"sum", "cat"});
  one_of("model.attention_type", m.attention_type, {"ddpm"});
  positive("model.sigma_min", sd.sigma_min);
  if (!(sd.sigma_max > sd.sigma_min)) {
    fail("model.sigma_max",
         fmt::format("{} must exceed model.sigma_min = {}", sd.sigma_max, sd.sigma_min));
  }
  at_least<std::int64_t>("model.num_scales", sd.num_scales, 2);
  at_least("model.beta_min", sd.beta_min, 0.0);
  if (!(sd.beta_max > sd.beta_min)) {
    fail("model.beta_max",
         fmt::format("{} must exceed model.beta_min = {}", sd.beta_max, sd.beta_min));
  }
  in_unit_interval("model.dropout", m.dropout);
  in_unit_interval("model.ema_rate", c.train.ema.rate);
  at_least<std::int64_t>("model.nf", m.nf, 1);
  at_least<std::int64_t>("model.num_res_blocks", m.num_res_blocks, 1);
  at_least<std::int64_t>("model.conv_size", m.conv_size, 1);
  at_least("model.init_scale", m.init_scale, 0.0);
  positive("model.fourier_scale", m.fourier_scale);
  if (m.ch_mult.empty()) fail("model.ch_mult", "needs at least one level");
  for (auto v : m.ch_mult) at_least<std::int64_t>("model.ch_mult", v, 1);
  if (m.fir_kernel.empty()) fail("model.fir_kernel", "needs at least one tap");
  if (m.name == "gaussian") {
    const std::size_t k = m.gaussian_mean.size();
    if (k == 0) fail("model.gaussian_mean", "needs at least one component");
    if (m.gaussian_std.size() != k)
      fail("model.gaussian_std",
           fmt::format("has {} entries, model.gaussian_mean has {}", m.gaussian_std.size(), k));
    if (m.gaussian_weight.size() != k)
      fail("model.gaussian_weight",
           fmt::format("has {} entries, model.gaussian_mean has {}", m.gaussian_weight.size(), k));
    for (double s : m.gaussian_std) positive("model.gaussian_std", s);
    for (double w : m.gaussian_weight) positive("model.gaussian_weight", w);
    if (!sd.continuous)
      fail("training.continuous", "model.name=gaussian needs continuous-time labels");
  }
  // Fourier features take log(sigma) of a continuous time; score_sde asserts the same.
  if (m.name == "ncsnpp" && m.embedding_type == "fourier" && !sd.continuous) {
    fail("model.embedding_type",
         "fourier needs training.continuous = true (use positional for discrete training)");
  }
  if (m.name.rfind("ncsnv2_", 0) == 0 && m.normalization != "InstanceNorm++" &&
      m.normalization != "InstanceNorm") {
    fail("model.normalization", "NCSNv2 needs InstanceNorm++ or InstanceNorm");
  }
  if (m.name == "ncsn") {
    if (m.normalization != "InstanceNorm++")
      fail("model.normalization", "NCSN has conditional InstanceNorm++ only");
    if (sd.continuous) {
      fail("training.continuous",
           "model.name = ncsn conditions on the index of a noise level: it needs "
           "training.continuous = false (SMLD)");
    }
    if (c.train.shape.image_size % 2 != 0) {
      fail("data.image_size", fmt::format("NCSN halves the resolution once; {} is odd",
                                          c.train.shape.image_size));
    }
  }
  // The U-Net keys below apply to NCSN++/DDPM++ and DDPM only.
  if (m.name != "ncsnpp" && m.name != "ddpm") return;
  // Every level halves the resolution; attention sizes must be sizes that occur.
  const std::int64_t levels = static_cast<std::int64_t>(m.ch_mult.size());
  const std::int64_t size = c.train.shape.image_size;
  if (size % (std::int64_t{1} << (levels - 1)) != 0) {
    fail("data.image_size", fmt::format("{} is not divisible by 2^{} (model.ch_mult has {} levels)",
                                        size, levels - 1, levels));
  }
  for (auto r : m.attn_resolutions) {
    bool occurs = false;
    for (std::int64_t l = 0; l < levels; ++l) occurs = occurs || (size >> l) == r;
    if (!occurs) {
      fail("model.attn_resolutions",
           fmt::format("{} is not a resolution of the network ({} halved up to {} times)", r, size,
                       levels - 1));
    }
  }
}

void validate_training_and_sampling(const Config& c) {
  const train::TrainOptions& t = c.train;
  core::registered("training.sde", t.sde.name, sde::sde_registry());
  one_of("training.autocast", t.precision.autocast, {"none", "bf16"});
  at_least<std::int64_t>("training.batch_size", t.loader.global_batch, 1);
  at_least<std::int64_t>("training.n_iters", t.n_iters, 1);
  at_least<std::int64_t>("training.snapshot_freq", t.snapshot_freq, 1);
  at_least<std::int64_t>("training.batch_per_rank", t.batch_per_rank, 0);
  at_least<std::int64_t>("training.max_nonfinite", t.max_nonfinite, 0);
  at_least<std::int64_t>("training.keep_meta", t.keep_meta, 1);
  positive("training.lock_timeout", t.lock_timeout);
  at_least<std::int64_t>("training.snapshot_sample_steps", c.snapshots.steps, 0);
  if (!t.sde.continuous && c.snapshots.steps > 0 && c.snapshots.steps != t.sde.num_scales) {
    fail("training.snapshot_sample_steps",
         fmt::format("{} levels: a discrete-time model (training.continuous = false) samples its "
                     "own model.num_scales = {}",
                     c.snapshots.steps, t.sde.num_scales));
  }
  eval::sampler_sde_options(t.sde, c.eval.samples.sampling.steps);  // names sampling.steps
  at_least<std::int64_t>("training.log_freq", t.log_freq, 1);
  at_least<std::int64_t>("training.profile_steps", t.profile_steps, 0);
  if (t.profile_steps > t.n_iters) {
    fail("training.profile_steps", fmt::format("{} steps to profile, but training.n_iters is {}",
                                               t.profile_steps, t.n_iters));
  }
  at_least<std::int64_t>("training.snapshot_freq_for_preemption", t.meta_freq, 1);
  if (!t.sde.continuous && t.sde.name == "subvpsde") {
    fail("training.continuous",
         "discrete-time training exists for vesde (SMLD) and vpsde (DDPM) only, not subvpsde");
  }
  const sde::ObjectiveEntry& objective =
      core::registered("training.loss", t.loss.objective, sde::objective_registry());
  if (objective.per_example && !t.sde.continuous) {
    fail("training.loss", fmt::format("{} needs training.continuous = true (in discrete time "
                                      "only dsm: SMLD or DDPM)",
                                      objective.name));
  }
  at_least<std::int64_t>("training.ssm_projections", t.loss.projections, 1);
  one_of("training.ssm_probe", t.loss.probe, {"rademacher", "gaussian"});
  at_least<std::int64_t>("training.ism_max_dims", t.loss.ism_max_dims, 1);
  const std::int64_t dims =
      t.shape.num_channels * t.shape.image_size * t.shape.image_size;
  if (objective.exact_trace && dims > t.loss.ism_max_dims) {
    fail("training.loss",
         fmt::format("{} takes one backward pass per data dimension: {}x{}x{} = {} is above "
                     "training.ism_max_dims = {}; use ssm or ssm_vr",
                     objective.name, t.shape.num_channels, t.shape.image_size, t.shape.image_size, dims,
                     t.loss.ism_max_dims));
  }
  if (!t.sde.continuous && t.loss.likelihood_weighting) {
    fail("training.likelihood_weighting",
         "needs training.continuous = true (score_sde refuses it for SMLD/DDPM losses)");
  }
  // The sampling keys, and what the sampler's parts need of the SDE, are the sampler's rules.
  eval::validate(c.eval.samples.sampling, t.sde.name);
}

void validate_rest(const Config& c) {
  at_least<std::int64_t>("seed", c.train.seed, 0);
  const eval::EvaluationOptions& e = c.eval;
  const eval::SweepOptions& w = c.sweep;
  const eval::SampleJobOptions& sj = e.samples;
  const eval::BpdJobOptions& bpd = e.bpd_options;
  at_least<std::int64_t>("eval.begin_ckpt", w.begin_ckpt, 0);
  if (w.end_ckpt < w.begin_ckpt) {
    fail("eval.end_ckpt",
         fmt::format("{} is before eval.begin_ckpt = {}", w.end_ckpt, w.begin_ckpt));
  }
  at_least<std::int64_t>("eval.batch_size", e.batch_size, 1);
  at_least<std::int64_t>("eval.num_samples", sj.num_samples, 1);
  at_least<std::int64_t>("eval.seed_sets", e.seed_sets, 1);
  if (c.train.phema.enabled) {
    if (c.train.phema.sigma_rels.empty())
      fail("training.phema_sigma_rel", "training.phema needs at least one width");
    for (double s : c.train.phema.sigma_rels) train::phema_gamma(s);  // names the key
  }
  one_of("eval.bpd_dataset", e.bpd_dataset, {"train", "test"});
  at_least<std::int64_t>("eval.ckpt_stride", w.stride, 1);
  at_least("eval.wait_timeout", w.wait_timeout, 0.0);
  one_of("eval.quantize", sj.quantize, {"truncate", "round"});
  one_of("eval.image_format", sj.image_format, {"npz", "png"});
  at_least<std::int64_t>("eval.feature_batch", sj.feature_batch, 1);
  at_least<std::int64_t>("eval.is_splits", e.metrics.is_splits, 1);
  one_of("eval.task", sj.task, {"sample", "inpaint", "colorize"});
  at_least<std::int64_t>("eval.num_classes", sj.num_classes, 1);
  at_least<std::int64_t>("eval.class_label", sj.class_label, -1);
  if (sj.class_label >= sj.num_classes) fail("eval.class_label", "must be below eval.num_classes");
  at_least<std::int64_t>("eval.kid_subsets", e.metrics.kid_subsets, 1);
  at_least<std::int64_t>("eval.kid_subset_size", e.metrics.kid_subset_size, 2);
  at_least<std::int64_t>("eval.grid", sj.grid, 0);
  at_least<std::int64_t>("eval.bpd_passes", bpd.passes, 0);
  at_least<std::int64_t>("eval.bpd_max_images", bpd.max_images, 0);
  positive("eval.bpd_rtol", bpd.likelihood.rtol);
  positive("eval.bpd_atol", bpd.likelihood.atol);
  positive("eval.bpd_eps", bpd.likelihood.eps);
  one_of("eval.bpd_divergence", bpd.likelihood.divergence, {"rademacher", "gaussian", "exact"});
  at_least<std::int64_t>("eval.bpd_probes", bpd.likelihood.probes, 1);
  at_least<std::int64_t>("data.image_size", c.train.shape.image_size, 1);
  at_least<std::int64_t>("data.num_channels", c.train.shape.num_channels, 1);
  const train::AdamOptions& o = c.train.adam;
  one_of("optim.optimizer", o.optimizer, {"Adam"});
  positive("optim.lr", o.lr);
  in_unit_interval("optim.beta1", o.beta1);
  positive("optim.eps", o.eps);
  at_least("optim.weight_decay", o.weight_decay, 0.0);
  at_least<std::int64_t>("optim.warmup", o.warmup, 0);
  one_of("dist.device", c.dist.device, {"auto", "cpu", "cuda"});
  at_least<std::int64_t>("dist.threads", c.dist.threads, 0);
  positive("dist.timeout", c.comm.timeout_seconds);
  positive("dist.first_bucket_mb", c.train.reducer.first_bucket_mb);
  positive("dist.bucket_mb", c.train.reducer.bucket_mb);
}

}  // namespace

void validate(const Config& config) {
  validate_rest(config);
  validate_training_and_sampling(config);
  validate_model(config);
}

}  // namespace sgm::cli
