// eval_bench: the evaluation job's hot paths, side by side in one run.
//  1. bits/dim of one batch at rtol = atol = 1e-5: sgm's solver (state on the device, step
//     control per sample) against a host-side baseline in score_sde's style (the whole batch
//     flattened into one scipy-like RK45 state in float64 on the host: one step size for the
//     batch, a device round trip per evaluation). Wall time and NFE per sample for each.
//  2. Sampling throughput: the PC sampler (reverse diffusion + Langevin, N noise levels) and the
//     probability-flow ODE (RK45, and EDM's Heun schedule with 18 levels), in samples/s and
//     network evaluations per second.
//  3. FID Inception feature extraction (resize to 299 + network) in images/s.
//  4. The ODE solvers at equal quality on the analytic two-mode mixture (exact scores): the
//     fewest network calls within --solver-error of the exact solution, per SDE, and the wall
//     time (bench/solver_quality.h).
//   eval_bench [--device cpu|cuda] [--model small|cifar] [--batch B] [--resolution R]
//              [--sample-batch B] [--pc-steps N] [--inception-images N]
//              [--solver-error E] [--solver-samples B] [--json FILE]
// small: an NCSN++ with nf 16, one res block per level (random initialisation scaled so the ODE
// is not trivial); cifar: score_sde's ve/cifar10_ncsnpp_continuous network (without dropout).
// --json writes the figures as one JSON object as well.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/autograd.h>
#include <torch/cuda.h>

#include "bench/solver_quality.h"
#include "eval/inception.h"
#include "eval/likelihood.h"
#include "eval/rk45.h"
#include "eval/sampling.h"
#include "trainer/models/registry.h"
#include "trainer/sde/registry.h"
#include "trainer/sde/score_fn.h"

namespace {
using namespace sgm;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start, const at::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Options {
  std::string device = "cpu";
  std::string model = "small";
  std::int64_t batch = 8;
  std::int64_t resolution = 16;
  std::int64_t sample_batch = 8;
  std::int64_t pc_steps = 50;
  std::int64_t inception_images = 16;
  double solver_error = 1e-3;
  std::int64_t solver_samples = 64;
  std::string json;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    const std::string key = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "eval_bench: %s needs a value\n", key.c_str());
      std::exit(2);
    }
    const std::string value = argv[i + 1];
    if (key == "--device")
      o.device = value;
    else if (key == "--model")
      o.model = value;
    else if (key == "--batch")
      o.batch = std::atoll(value.c_str());
    else if (key == "--resolution")
      o.resolution = std::atoll(value.c_str());
    else if (key == "--sample-batch")
      o.sample_batch = std::atoll(value.c_str());
    else if (key == "--pc-steps")
      o.pc_steps = std::atoll(value.c_str());
    else if (key == "--inception-images")
      o.inception_images = std::atoll(value.c_str());
    else if (key == "--solver-error")
      o.solver_error = std::atof(value.c_str());
    else if (key == "--solver-samples")
      o.solver_samples = std::atoll(value.c_str());
    else if (key == "--json")
      o.json = value;
    else {
      std::fprintf(stderr, "eval_bench: unknown option %s\n", key.c_str());
      std::exit(2);
    }
  }
  if (o.model != "small" && o.model != "cifar") {
    std::fprintf(stderr, "eval_bench: --model %s is not small or cifar\n", o.model.c_str());
    std::exit(2);
  }
  return o;
}

models::ModelOptions model_options(const Options& o) {
  models::ModelOptions mo;  // score_sde's ve/cifar10_ncsnpp_continuous
  mo.dropout = 0;
  if (o.model == "small") {
    mo.nf = 16;
    mo.ch_mult = {1, 2, 2};
    mo.num_res_blocks = 1;
    mo.attn_resolutions = {o.resolution / 2};
  }
  return mo;
}

// Samples of `sampling` for `count` indices: samples/s and network evaluations per second.
nlohmann::json time_sampler(const std::string& name, const eval::SamplingOptions& sampling,
                            const std::shared_ptr<const sde::SDE>& sde, const sde::ScoreFn& score,
                            const Options& o, const at::Device& device) {
  const std::vector<std::int64_t> shape{3, o.resolution, o.resolution};
  const at::NoGradGuard no_grad;
  eval::draw_samples(sde, score, at::arange(1, at::kLong), shape, 1, sampling, device);  // warm-up
  const auto start = Clock::now();
  const eval::Samples s = eval::draw_samples(sde, score, at::arange(o.sample_batch, at::kLong),
                                             shape, 1, sampling, device);
  const double seconds = seconds_since(start, device);
  double nfe = 0;
  for (std::int64_t n : s.nfe) nfe += static_cast<double>(n) / static_cast<double>(o.sample_batch);
  const double per_second = static_cast<double>(o.sample_batch) / seconds;
  std::printf("  %-44s %10.2f %12.1f %14.2f %12.1f\n", name.c_str(), seconds, nfe, per_second,
              nfe / seconds);
  return {{"sampler", name},
          {"seconds", seconds},
          {"nfe_per_sample", nfe},
          {"samples_per_second", per_second},
          {"nfe_per_second", nfe / seconds}};
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const at::Device device(o.device);
  nlohmann::json report = {{"device", o.device}, {"model", o.model}, {"resolution", o.resolution}};
  at::manual_seed(0);
  const models::ModelOptions mo = model_options(o);
  models::DataShape shape;
  shape.image_size = o.resolution;
  sde::SdeOptions so;
  if (o.model == "small") so.sigma_max = 16;
  auto model = models::make_model(mo, shape, so);
  model->to(device);
  model->eval();
  so.num_scales = o.pc_steps;
  std::shared_ptr<const sde::SDE> sde = sde::make_sde(so);
  const sde::ModelFn net = [&](const at::Tensor& x, const at::Tensor& l) {
    return model->forward(x, l);
  };
  const sde::ScoreFn score = sde::get_score_fn(sde, net, true);

  // 1. bits/dim: sgm's solver against the host-side baseline.
  const at::Tensor x = at::rand({o.batch, 3, o.resolution, o.resolution}).to(device);
  const at::Tensor indices = at::arange(o.batch, at::kLong);
  eval::LikelihoodOptions lo;  // rtol = atol = 1e-5, Rademacher, one probe
  auto start = Clock::now();
  const eval::Likelihood ours = eval::likelihood(sde, score, x, indices, 0, 0, lo, 8.0);
  const double ours_s = seconds_since(start, device);
  double ours_nfe = 0;
  for (std::int64_t n : ours.nfe) ours_nfe += static_cast<double>(n) / static_cast<double>(o.batch);

  // The baseline: one flat float64 state on the host, as score_sde's likelihood.py hands to
  // scipy.integrate.solve_ivp; each evaluation copies it to the device and back.
  const std::int64_t B = o.batch;
  const std::int64_t D = x[0].numel();
  const at::Tensor probe = at::randint(0, 2, x.sizes(), x.options()) * 2 - 1;
  const std::shared_ptr<sde::ReverseSDE> flow = sde->reverse(score, true);
  const eval::SystemRhs rhs = [&](const at::Tensor&, const at::Tensor& t, const at::Tensor& y) {
    const c10::AutoGradMode grad(true);
    const at::Tensor xs =
        y.narrow(1, 0, B * D).to(device, at::kFloat).view(x.sizes()).detach().requires_grad_(true);
    const at::Tensor vec_t = at::full({B}, t.item<double>(), x.options());
    const at::Tensor drift = flow->sde(xs, vec_t).drift;
    const at::Tensor g = torch::autograd::grad({(drift * probe).sum()}, {xs})[0];
    const at::Tensor div = (g * probe).view({B, D}).sum(1);
    return at::cat({drift.detach().reshape({1, B * D}), div.view({1, B})}, 1)
        .to(at::kCPU, at::kDouble);
  };
  const at::Tensor y0 =
      at::cat({x.to(at::kCPU, at::kDouble).reshape({1, B * D}), at::zeros({1, B}, at::kDouble)}, 1);
  eval::Rk45Options ro;
  ro.rtol = lo.rtol;
  ro.atol = lo.atol;
  start = Clock::now();
  const eval::Rk45Result base = eval::solve_rk45(rhs, lo.eps, sde->T(), y0, ro);
  const double base_s = seconds_since(start, device);

  std::printf("model %s, %lldx%lld, %s\n", o.model.c_str(), static_cast<long long>(o.resolution),
              static_cast<long long>(o.resolution), o.device.c_str());
  std::printf("bits/dim, batch %lld, rtol = atol = 1e-5\n", static_cast<long long>(B));
  std::printf("  %-40s %10s %14s\n", "solver", "wall s", "NFE/sample");
  std::printf("  %-40s %10.2f %14.1f\n", "sgm (device, per-sample control)", ours_s, ours_nfe);
  std::printf("  %-40s %10.2f %14lld\n", "host baseline (one state, batch control)", base_s,
              static_cast<long long>(base.nfev[0]));
  std::printf("  ratio baseline / sgm wall time: %.2f\n", base_s / ours_s);
  report["bpd"] = {{"batch", B},
                   {"sgm_seconds", ours_s},
                   {"sgm_nfe_per_sample", ours_nfe},
                   {"baseline_seconds", base_s},
                   {"baseline_nfe", base.nfev[0]},
                   {"baseline_over_sgm", base_s / ours_s}};

  // 2. Sampling throughput.
  std::printf("sampling, %lld samples\n", static_cast<long long>(o.sample_batch));
  std::printf("  %-44s %10s %12s %14s %12s\n", "sampler", "wall s", "NFE/sample", "samples/s",
              "NFE/s");
  eval::SamplingOptions pc;  // reverse diffusion + Langevin, snr 0.16 (score_sde's VE default)
  eval::SamplingOptions ode;
  ode.method = "ode";
  eval::SamplingOptions heun = ode;
  heun.ode_solver = "edm_heun";
  report["sampling"] = {
      time_sampler(fmt::format("PC reverse diffusion + Langevin, N = {}", o.pc_steps), pc, sde,
                   score, o, device),
      time_sampler("probability-flow ODE, RK45 (1e-5)", ode, sde, score, o, device),
      time_sampler("probability-flow ODE, EDM Heun, 18 levels", heun, sde, score, o, device)};

  // 3. Inception features.
  eval::FidInception inception;
  inception->to(device);
  inception->eval();
  const at::Tensor images = at::rand({o.inception_images, 3, 32, 32}).to(device);
  const at::NoGradGuard no_grad;
  inception->forward(images.narrow(0, 0, 1));  // warm-up
  start = Clock::now();
  inception->forward(images);
  const double inception_s = seconds_since(start, device);
  const double inception_rate = static_cast<double>(o.inception_images) / inception_s;
  std::printf("FID Inception features, %lld images of 32x32 -> 299: %.1f images/s\n",
              static_cast<long long>(o.inception_images), inception_rate);
  report["inception_images_per_second"] = inception_rate;

  // 4. The ODE solvers at equal quality.
  if (o.solver_samples > 0)  // 0 skips it (launch/gpu_suite: the table does not use the device)
    report["solvers_at_equal_quality"] = bench::solver_quality(o.solver_error, o.solver_samples);
  if (!o.json.empty()) std::ofstream(o.json) << report.dump(2) << "\n";
  return 0;
}
