// The resolved configuration of an sgm job: one typed struct per INI section, keys named as in
// score_sde's ml_collections configs (training.batch_size, model.ch_mult, optim.warmup, ...).
// Defaults are the member initialisers below: score_sde's ve/cifar10_ncsnpp_continuous
// (configs/default_cifar10_configs.py plus that file's overrides). Config files hold overrides.
// The one-line meaning of every key is next to its binding in key_table.cpp.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "trainer/dist/communicator.h"
#include "trainer/dist/context.h"
#include "trainer/dist/reducer.h"
#include "trainer/models/options.h"
#include "trainer/sde/registry.h"

namespace sgm::cli {

struct TrainingSection {
  std::int64_t batch_size = 128;
  std::int64_t n_iters = 1300001;
  std::int64_t snapshot_freq = 50000;
  std::int64_t log_freq = 50;
  std::int64_t eval_freq = 100;
  std::int64_t snapshot_freq_for_preemption = 10000;
  bool snapshot_sampling = true;
  bool likelihood_weighting = false;
  bool continuous = true;
  bool reduce_mean = false;
  std::string sde = "vesde";
  // sgm additions
  std::int64_t batch_per_rank = 0;  // micro-batch per rank for accumulation (0: whole local batch)
  std::int64_t max_nonfinite = 10;  // consecutive skipped (non-finite) steps before stopping
  std::int64_t keep_meta = 3;       // preemption checkpoints kept
  bool ema_sharded = false;         // each rank keeps 1/W of the EMA
  std::int64_t snapshot_sample_steps = 0;  // reverse-SDE steps of snapshot samples (0: num_scales)
  std::string autocast = "none";           // none | bf16 (forward pass under autocast)
  bool tf32 = false;                       // TF32 in cuBLAS and cuDNN
  bool channels_last = false;              // NHWC input batches
  bool deterministic = false;              // deterministic CUDA kernels (bit-reproducible on GPU)
  std::int64_t profile_steps = 0;          // profile the last N steps (WORKDIR/profile.json)
};

struct SamplingSection {
  std::string method = "pc";
  std::string predictor = "reverse_diffusion";
  std::string corrector = "langevin";
  std::int64_t n_steps_each = 1;
  bool noise_removal = true;
  bool probability_flow = false;
  double snr = 0.16;
  // sgm additions (eval/sampling.h)
  double eps = 0;            // last time of sampling; 0: 1e-5 for vesde, 1e-3 for vpsde/subvpsde
  bool paper_order = false;  // predictor then corrector (the paper's Algorithm 1)
  bool batch_norms = true;   // Langevin step size from norms over the global batch (reference)
  std::string ode_solver = "rk45";  // rk45 | euler | heun | edm_heun
  double rtol = 1e-5;
  double atol = 1e-5;
  std::int64_t edm_steps = 18;  // EDM's Heun schedule (eval/edm_heun.h)
  double edm_rho = 7;
  double edm_sigma_min = 0.002;
  double edm_sigma_max = 80;
  double edm_churn = 0;
  double edm_s_min = 0;
  double edm_s_max = std::numeric_limits<double>::infinity();
  double edm_s_noise = 1;
};

struct EvalSection {
  std::int64_t begin_ckpt = 9;
  std::int64_t end_ckpt = 26;
  std::int64_t batch_size = 1024;
  bool enable_sampling = false;
  std::int64_t num_samples = 50000;
  bool enable_loss = true;
  bool enable_bpd = false;
  std::string bpd_dataset = "test";
  // sgm additions
  std::int64_t ckpt_stride = 1;       // sweep every this many snapshot indices
  double wait_timeout = 0;            // seconds a sweep waits for a snapshot (0: no waiting)
  bool use_ema = true;                // evaluate the EMA weights (score_sde) or the raw ones
  std::string data_path;              // HDF5 shards of the evaluation split (bpd, loss)
  std::string quantize = "truncate";  // samples to uint8: truncate (score_sde) | round (EDM)
  std::string inception_weights;      // converted pt_inception-2015-12-05-6726825d (.h5)
  std::string ref_stats;              // reference statistics .npz (mu/sigma or pool_3)
  std::int64_t feature_batch = 200;   // Inception batch per rank
  std::int64_t is_splits = 10;        // Inception Score splits (score_sde: 1)
  std::int64_t kid_subsets = 100;
  std::int64_t kid_subset_size = 1000;
  bool stats_features = false;      // sgm-eval stats also writes pool_3 (for KID)
  std::int64_t grid = 64;           // samples in each checkpoint's grid.png
  std::string task = "sample";      // sample | inpaint | colorize (eval/controllable.h)
  std::string mask = "left_half";   // inpaint: left_half | top_half | center | FILE.png
  std::string classifier;           // TorchScript noise-conditional classifier: guidance
  std::int64_t class_label = -1;    // guided label of every sample; -1: sample i gets i mod K
  std::int64_t num_classes = 10;    // K
  double guidance_scale = 1;        // w in s + w grad log p(y | x, t)
  std::int64_t bpd_passes = 0;      // 0: 5 over the test split, 1 over train (score_sde)
  std::int64_t bpd_max_images = 0;  // 0: the whole split
  double bpd_rtol = 1e-5;
  double bpd_atol = 1e-5;
  double bpd_eps = 1e-5;
  std::string bpd_divergence = "rademacher";  // rademacher | gaussian | exact
  std::int64_t bpd_probes = 1;                // Hutchinson probes averaged per evaluation
};

struct DataSection {
  std::string dataset = "CIFAR10";
  std::string path;  // sgm addition: directory of HDF5 shards
  std::int64_t image_size = 32;
  bool random_flip = true;
  bool centered = false;
  bool uniform_dequantization = false;
  std::int64_t num_channels = 3;
};

struct OptimSection {
  double weight_decay = 0.0;
  std::string optimizer = "Adam";
  double lr = 2e-4;
  double beta1 = 0.9;
  double eps = 1e-8;
  std::int64_t warmup = 5000;
  double grad_clip = 1.0;
};

struct Config {
  std::int64_t seed = 42;
  TrainingSection training;
  SamplingSection sampling;
  EvalSection eval;
  DataSection data;
  models::ModelOptions model;
  OptimSection optim;
  dist::ContextOptions dist;     // sgm addition: [dist], consumed by dist::Context
  dist::CommOptions comm;        // [dist] too: dist.timeout (dist::Communicator)
  dist::ReducerOptions reducer;  // [dist] too: buckets, bf16 reduction (dist::GradientReducer)
};

// The typed options the libraries take, from the sections that hold them.
models::DataShape data_shape(const Config& config);
sde::SdeOptions sde_options(const Config& config);

}  // namespace sgm::cli
