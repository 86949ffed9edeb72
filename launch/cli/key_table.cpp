#include "launch/cli/key_table.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "trainer/core/error.h"

namespace sgm::cli {
namespace po = boost::program_options;

namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string leaf(const std::string& name) {
  auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

}  // namespace

namespace {

// Splits "1,2,2,2", "(1, 2, 2, 2)", "[1,3,3,1]", "(8,)" or "" and converts each item with
// `convert` (which must consume the whole item).
template <typename T, typename Convert>
std::vector<T> parse_list(const std::string& key, const std::string& text, const char* what,
                          Convert convert) {
  std::string body;
  for (char ch : text) {
    if (ch != '(' && ch != ')' && ch != '[' && ch != ']' &&
        !std::isspace(static_cast<unsigned char>(ch)))
      body += ch;
  }
  std::vector<T> values;
  if (body.empty()) return values;
  if (body.back() == ',') body.pop_back();  // "(8,)"
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = body.find(',', start);
    const std::string item =
        body.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::size_t used = 0;
    T v{};
    try {
      v = convert(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size()) {
      throw core::UsageError(
          fmt::format("{}: '{}' is not a comma-separated list of {}", key, text, what));
    }
    values.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return values;
}

}  // namespace

std::vector<std::int64_t> parse_int_list(const std::string& key, const std::string& text) {
  return parse_list<std::int64_t>(
      key, text, "integers",
      [](const std::string& s, std::size_t* used) { return std::stoll(s, used); });
}

std::vector<double> parse_number_list(const std::string& key, const std::string& text) {
  return parse_list<double>(key, text, "numbers", [](const std::string& s, std::size_t* used) {
    return std::stod(s, used);
  });
}

std::string format_number_list(const std::vector<double>& values) {
  if (values.empty()) return "()";
  return fmt::format("{}", fmt::join(values, ","));
}

std::string format_int_list(const std::vector<std::int64_t>& values) {
  // An empty list is written "()": Boost.Program_options refuses an empty "--key=".
  if (values.empty()) return "()";
  return fmt::format("{}", fmt::join(values, ","));
}

KeyTable::KeyTable(Config& config) : all_("configuration keys") { bind_all(config); }

void KeyTable::section(const std::string& name, const std::string& caption) {
  sections_.push_back({name, std::make_unique<po::options_description>(caption), {}});
}

void KeyTable::add(const char* name, std::int64_t& field, const char* help) {
  sections_.back().description->add_options()(
      name, po::value<std::int64_t>(&field)->default_value(field), help);
  sections_.back().keys.push_back(
      {name, "an integer", [&field] { return fmt::format("{}", field); }});
}

void KeyTable::add(const char* name, double& field, const char* help) {
  sections_.back().description->add_options()(
      name, po::value<double>(&field)->default_value(field, fmt::format("{}", field)), help);
  sections_.back().keys.push_back(
      {name, "a number", [&field] { return fmt::format("{}", field); }});
}

void KeyTable::add(const char* name, bool& field, const char* help) {
  sections_.back().description->add_options()(
      name, po::value<bool>(&field)->default_value(field, field ? "true" : "false"), help);
  sections_.back().keys.push_back(
      {name, "true or false", [&field] { return std::string(field ? "true" : "false"); }});
}

void KeyTable::add(const char* name, std::string& field, const char* help) {
  sections_.back().description->add_options()(
      name, po::value<std::string>(&field)->default_value(field, field.empty() ? "\"\"" : field),
      help);
  sections_.back().keys.push_back({name, "a string", [&field] { return field; }});
}

void KeyTable::add(const char* name, std::vector<std::int64_t>& field, const char* help) {
  std::string key = name;
  std::string shown = format_int_list(field);
  sections_.back().description->add_options()(
      name,
      po::value<std::string>()->default_value(shown)->notifier(
          [&field, key](const std::string& text) { field = parse_int_list(key, text); }),
      help);
  sections_.back().keys.push_back(
      {name, "a list of integers", [&field] { return format_int_list(field); }});
}

void KeyTable::add(const char* name, std::vector<double>& field, const char* help) {
  std::string key = name;
  std::string shown = format_number_list(field);
  sections_.back().description->add_options()(
      name,
      po::value<std::string>()->default_value(shown)->notifier(
          [&field, key](const std::string& text) { field = parse_number_list(key, text); }),
      help);
  sections_.back().keys.push_back(
      {name, "a list of numbers", [&field] { return format_number_list(field); }});
}

const KeyTable::Key* KeyTable::find(const std::string& name) const {
  for (const auto& s : sections_) {
    for (const auto& k : s.keys) {
      if (k.name == name) return &k;
    }
  }
  return nullptr;
}

std::string KeyTable::closest(const std::string& name) const {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(3, name.size() / 4) + 1;
  for (const auto& s : sections_) {
    for (const auto& k : s.keys) {
      std::size_t d = edit_distance(name, k.name);
      // A right key in the wrong section ("training.nf" for "model.nf") is close too.
      if (leaf(name) == leaf(k.name)) d = std::min<std::size_t>(d, 1);
      if (d < best_distance) {
        best_distance = d;
        best = k.name;
      }
    }
  }
  return best;
}

void KeyTable::bind_all(Config& c) {
  section("", "Top-level keys (before any [section] in a file)");
  add("seed", c.seed, "random seed; all randomness is keyed by (seed, global sample index)");

  section("training", "[training] (score_sde: config.training)");
  add("training.batch_size", c.training.batch_size, "global batch size, summed over all ranks");
  add("training.n_iters", c.training.n_iters, "number of training steps");
  add("training.snapshot_freq", c.training.snapshot_freq,
      "steps between permanent snapshots (what sweeps evaluate)");
  add("training.log_freq", c.training.log_freq,
      "steps between status lines and metrics.jsonl records");
  add("training.eval_freq", c.training.eval_freq, "steps between evaluation-loss measurements");
  add("training.snapshot_freq_for_preemption", c.training.snapshot_freq_for_preemption,
      "steps between preemption (meta) checkpoints");
  add("training.snapshot_sampling", c.training.snapshot_sampling,
      "draw a PNG grid of EMA samples at each snapshot");
  add("training.likelihood_weighting", c.training.likelihood_weighting,
      "weight the DSM loss by g(t)^2 (Song et al. 2021b)");
  add("training.continuous", c.training.continuous,
      "continuous-time training (t ~ U(eps, 1)) instead of discrete noise levels");
  add("training.reduce_mean", c.training.reduce_mean,
      "average the per-sample loss over dimensions (else 0.5 * sum)");
  add("training.sde", c.training.sde, "vesde | vpsde | subvpsde");
  add("training.batch_per_rank", c.training.batch_per_rank,
      "micro-batch per rank; smaller than batch_size / ranks accumulates gradients (0: off)");
  add("training.max_nonfinite", c.training.max_nonfinite,
      "skipped steps with non-finite gradients in a row before the job stops");
  add("training.keep_meta", c.training.keep_meta, "preemption checkpoints to keep");
  add("training.snapshot_sample_steps", c.training.snapshot_sample_steps,
      "reverse-SDE steps for the snapshot sample grid (0: model.num_scales)");
  add("training.ema_sharded", c.training.ema_sharded,
      "keep 1/W of the EMA per rank (gathered for checkpoints); identical weights");
  add("training.autocast", c.training.autocast,
      "none | bf16: run the model's forward pass under bf16 autocast (loss and update in fp32)");
  add("training.tf32", c.training.tf32,
      "allow TF32 in fp32 matmuls (cuBLAS) and convolutions (cuDNN); off keeps fp32 numerics");
  add("training.channels_last", c.training.channels_last,
      "feed the model channels-last (NHWC) batches; convolutions follow the input's layout");
  add("training.deterministic", c.training.deterministic,
      "deterministic CUDA kernels (cuDNN, cuBLAS, ATen): bit-reproducible GPU runs and resumes, "
      "slower; CPU runs are reproducible either way");
  add("training.profile_steps", c.training.profile_steps,
      "profile the last N steps with LibTorch's profiler: WORKDIR/profile.json (kernel time, "
      "host synchronisations, copies, top kernels); 0: off");

  section("sampling", "[sampling] (score_sde: config.sampling)");
  add("sampling.method", c.sampling.method, "pc (predictor-corrector) | ode (probability flow)");
  add("sampling.predictor", c.sampling.predictor,
      "euler_maruyama | reverse_diffusion | ancestral_sampling | none");
  add("sampling.corrector", c.sampling.corrector, "langevin | ald | none");
  add("sampling.n_steps_each", c.sampling.n_steps_each, "corrector steps per noise level");
  add("sampling.noise_removal", c.sampling.noise_removal,
      "finish with one noise-free denoising step");
  add("sampling.probability_flow", c.sampling.probability_flow,
      "use the probability-flow drift in the predictor");
  add("sampling.snr", c.sampling.snr, "signal-to-noise ratio of the Langevin corrector");
  add("sampling.eps", c.sampling.eps,
      "last time of sampling; 0: 1e-5 for vesde, 1e-3 for vpsde/subvpsde (score_sde)");
  add("sampling.paper_order", c.sampling.paper_order,
      "predictor then corrector (the paper's Algorithm 1) instead of the reference code's order");
  add("sampling.batch_norms", c.sampling.batch_norms,
      "Langevin step size from norms averaged over the global batch (reference) or per sample");
  add("sampling.ode_solver", c.sampling.ode_solver,
      "probability-flow ODE solver: rk45 (adaptive) | euler | heun (model.num_scales steps) | "
      "edm_heun (EDM's schedule, sampling.edm_*)");
  add("sampling.rtol", c.sampling.rtol, "RK45 relative tolerance of the ODE sampler");
  add("sampling.atol", c.sampling.atol, "RK45 absolute tolerance of the ODE sampler");
  add("sampling.edm_steps", c.sampling.edm_steps, "EDM Heun: noise levels N (NFE 2N - 1)");
  add("sampling.edm_rho", c.sampling.edm_rho, "EDM Heun: schedule exponent rho");
  add("sampling.edm_sigma_min", c.sampling.edm_sigma_min,
      "EDM Heun: smallest noise level (raised to the SDE's level at sampling.eps)");
  add("sampling.edm_sigma_max", c.sampling.edm_sigma_max,
      "EDM Heun: largest noise level (lowered to the SDE's level at T)");
  add("sampling.edm_churn", c.sampling.edm_churn, "EDM Heun: S_churn (0: deterministic)");
  add("sampling.edm_s_min", c.sampling.edm_s_min, "EDM Heun: churn only at noise >= S_min");
  add("sampling.edm_s_max", c.sampling.edm_s_max, "EDM Heun: churn only at noise <= S_max");
  add("sampling.edm_s_noise", c.sampling.edm_s_noise, "EDM Heun: S_noise (churn noise scale)");

  section("eval", "[eval] (score_sde: config.eval)");
  add("eval.begin_ckpt", c.eval.begin_ckpt, "first snapshot index of a sweep");
  add("eval.end_ckpt", c.eval.end_ckpt, "last snapshot index of a sweep (inclusive)");
  add("eval.batch_size", c.eval.batch_size, "global evaluation batch size");
  add("eval.enable_sampling", c.eval.enable_sampling, "draw samples and compute FID/IS/KID");
  add("eval.num_samples", c.eval.num_samples, "number of samples for FID/IS/KID");
  add("eval.enable_loss", c.eval.enable_loss, "compute the evaluation loss");
  add("eval.enable_bpd", c.eval.enable_bpd, "compute bits/dim through the probability-flow ODE");
  add("eval.bpd_dataset", c.eval.bpd_dataset,
      "train (data.path) | test (eval.data_path) split for bits/dim");
  add("eval.ckpt_stride", c.eval.ckpt_stride, "a sweep visits every this many snapshot indices");
  add("eval.wait_timeout", c.eval.wait_timeout,
      "seconds a sweep waits for a snapshot not written yet (0: skip it; never forever)");
  add("eval.use_ema", c.eval.use_ema, "evaluate the EMA weights (score_sde) or the raw weights");
  add("eval.data_path", c.eval.data_path,
      "HDF5 shards of the evaluation (test) split, for bits/dim and the evaluation loss");
  add("eval.quantize", c.eval.quantize,
      "samples to uint8: truncate (score_sde, what its statistics saw) | round (EDM)");
  add("eval.inception_weights", c.eval.inception_weights,
      "pt_inception-2015-12-05-6726825d.pth converted by eval/tools/inception_weights_to_h5.py");
  add("eval.ref_stats", c.eval.ref_stats,
      "reference statistics .npz: mu and sigma (pytorch-fid, EDM, sgm-eval stats) or pool_3 "
      "(score_sde; enables KID)");
  add("eval.feature_batch", c.eval.feature_batch, "Inception batch size on each rank");
  add("eval.is_splits", c.eval.is_splits, "Inception Score splits (score_sde reports 1)");
  add("eval.kid_subsets", c.eval.kid_subsets, "KID subsets (seeded by seed)");
  add("eval.kid_subset_size", c.eval.kid_subset_size, "KID subset size");
  add("eval.stats_features", c.eval.stats_features,
      "sgm-eval stats also stores the features (pool_3, 8 KiB per image) for KID");
  add("eval.grid", c.eval.grid, "samples shown in each checkpoint's grid.png");
  add("eval.task", c.eval.task,
      "sample | inpaint | colorize: complete the images of eval.data_path (else data.path) with "
      "the PC sampler");
  add("eval.mask", c.eval.mask,
      "inpaint: known region, left_half | top_half | center | FILE.png (white = known)");
  add("eval.classifier", c.eval.classifier,
      "class-conditional sampling: TorchScript classifier file, forward(x, sigma) -> logits");
  add("eval.class_label", c.eval.class_label,
      "the class of every guided sample; -1: sample i gets class i mod eval.num_classes");
  add("eval.num_classes", c.eval.num_classes, "classes of the guiding classifier");
  add("eval.guidance_scale", c.eval.guidance_scale,
      "weight of the classifier gradient (1: the conditional score, as the paper)");
  add("eval.bpd_passes", c.eval.bpd_passes,
      "passes over the split, each with fresh dequantisation (0: 5 for test, 1 for train)");
  add("eval.bpd_max_images", c.eval.bpd_max_images, "only the first N images (0: the whole split)");
  add("eval.bpd_rtol", c.eval.bpd_rtol, "RK45 relative tolerance of the likelihood ODE");
  add("eval.bpd_atol", c.eval.bpd_atol, "RK45 absolute tolerance of the likelihood ODE");
  add("eval.bpd_eps", c.eval.bpd_eps, "start time of the likelihood ODE");
  add("eval.bpd_divergence", c.eval.bpd_divergence,
      "rademacher | gaussian (Hutchinson-Skilling) | exact (small dimension)");
  add("eval.bpd_probes", c.eval.bpd_probes, "Hutchinson probes averaged per evaluation");

  section("data", "[data] (score_sde: config.data)");
  add("data.dataset", c.data.dataset, "dataset name (informational; the data come from data.path)");
  add("data.path", c.data.path, "directory of HDF5 shards made by sgm-data");
  add("data.image_size", c.data.image_size, "image height and width in pixels");
  add("data.random_flip", c.data.random_flip, "random horizontal flips during training");
  add("data.centered", c.data.centered, "scale data to [-1, 1] (else [0, 1])");
  add("data.uniform_dequantization", c.data.uniform_dequantization,
      "add U[0, 1) noise to pixel values before scaling");
  add("data.num_channels", c.data.num_channels, "image channels");

  section("model", "[model] (score_sde: config.model)");
  add("model.name", c.model.name, "ncsnpp | ddpm | ncsnv2_64 | ncsnv2_128 | ncsnv2_256 | gaussian");
  add("model.sigma_min", c.model.sigma_min, "VE: smallest noise scale");
  add("model.sigma_max", c.model.sigma_max, "VE: largest noise scale");
  add("model.num_scales", c.model.num_scales, "number of discrete noise levels N");
  add("model.beta_min", c.model.beta_min, "VP/subVP: beta(0)");
  add("model.beta_max", c.model.beta_max, "VP/subVP: beta(1)");
  add("model.dropout", c.model.dropout, "dropout rate inside residual blocks");
  add("model.embedding_type", c.model.embedding_type, "fourier | positional time embedding");
  add("model.scale_by_sigma", c.model.scale_by_sigma, "divide the network output by sigma");
  add("model.ema_rate", c.model.ema_rate, "exponential moving average decay of the weights");
  add("model.normalization", c.model.normalization, "GroupNorm | InstanceNorm | InstanceNorm++");
  add("model.nonlinearity", c.model.nonlinearity, "swish | elu | relu | lrelu");
  add("model.nf", c.model.nf, "base channel count");
  add("model.ch_mult", c.model.ch_mult, "channel multiplier per resolution level");
  add("model.num_res_blocks", c.model.num_res_blocks, "residual blocks per level on the down path");
  add("model.attn_resolutions", c.model.attn_resolutions, "spatial sizes that get self-attention");
  add("model.resamp_with_conv", c.model.resamp_with_conv,
      "ddpm-type up/downsampling with a convolution");
  add("model.conditional", c.model.conditional, "condition the network on the noise level");
  add("model.fir", c.model.fir, "FIR (StyleGAN2) resampling instead of nearest/average");
  add("model.fir_kernel", c.model.fir_kernel, "FIR kernel taps");
  add("model.skip_rescale", c.model.skip_rescale, "divide residual sums by sqrt(2)");
  add("model.resblock_type", c.model.resblock_type, "biggan | ddpm residual blocks");
  add("model.progressive", c.model.progressive, "none | output_skip | residual output pyramid");
  add("model.progressive_input", c.model.progressive_input,
      "none | input_skip | residual input pyramid");
  add("model.progressive_combine", c.model.progressive_combine, "sum | cat for input_skip");
  add("model.attention_type", c.model.attention_type, "ddpm (the only kind score_sde uses)");
  add("model.init_scale", c.model.init_scale,
      "scale of the last layer of each block (0 means 1e-10)");
  add("model.fourier_scale", c.model.fourier_scale, "std of the frozen Fourier frequencies");
  add("model.conv_size", c.model.conv_size, "convolution size (score_sde keeps 3)");
  add("model.gaussian_mean", c.model.gaussian_mean,
      "analytic model: mean of each mixture component (all dimensions)");
  add("model.gaussian_std", c.model.gaussian_std,
      "analytic model: standard deviation of each component");
  add("model.gaussian_weight", c.model.gaussian_weight, "analytic model: weight of each component");

  section("optim", "[optim] (score_sde: config.optim)");
  add("optim.weight_decay", c.optim.weight_decay, "Adam weight decay");
  add("optim.optimizer", c.optim.optimizer, "Adam (beta2 = 0.999 as in score_sde)");
  add("optim.lr", c.optim.lr, "learning rate");
  add("optim.beta1", c.optim.beta1, "Adam beta1");
  add("optim.eps", c.optim.eps, "Adam epsilon");
  add("optim.warmup", c.optim.warmup, "linear learning-rate warm-up steps");
  add("optim.grad_clip", c.optim.grad_clip, "global gradient-norm clip (negative: off)");

  section("dist", "[dist] (sgm: ranks and devices)");
  add("dist.device", c.dist.device,
      "auto | cpu | cuda (auto: cuda:<node-local rank> when present)");
  add("dist.threads", c.dist.threads, "intra-op threads per rank (0: cores / ranks on the node)");
  add("dist.allow_singleton", c.dist.allow_singleton,
      "allow one process inside a multi-task Slurm step");
  add("dist.timeout", c.comm.timeout_seconds,
      "seconds a collective may take before the watchdog ends the job");
  add("dist.first_bucket_mb", c.reducer.first_bucket_mb, "size of the first gradient bucket (MiB)");
  add("dist.bucket_mb", c.reducer.bucket_mb, "size of the other gradient buckets (MiB)");
  add("dist.reduce_bf16", c.reducer.reduce_bf16,
      "all-reduce gradients in bfloat16 (halves the traffic; for slow networks)");
  add("dist.nccl_single_rank", c.comm.nccl_single_rank,
      "at world size 1 on a GPU, still run the collectives through a one-rank NCCL communicator "
      "(to test and measure the NCCL path)");

  for (const auto& s : sections_) all_.add(*s.description);
}

void store_command_line(int argc, const char* const argv[], const po::options_description& options,
                        const po::positional_options_description& positional,
                        po::variables_map& vm) {
  const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  po::store(po::command_line_parser(argc, argv)
                .options(options)
                .positional(positional)
                .style(style)
                .run(),
            vm);
}

}  // namespace sgm::cli
