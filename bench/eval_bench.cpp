// eval_bench: the evaluation job's two hot paths, side by side in one run.
//  1. bits/dim of one batch at rtol = atol = 1e-5: sgm's solver (state on the device, step
//     control per sample) against a host-side baseline in score_sde's style (the whole batch
//     flattened into one scipy-like RK45 state in float64 on the host: one step size for the
//     batch, a device round trip per evaluation). Wall time and NFE per sample for each.
//  2. FID Inception feature extraction (resize to 299 + network) in images/s.
//   eval_bench [--device cpu|cuda] [--batch B] [--resolution R] [--inception-images N]
// The network is a small NCSN++ (VE, random initialisation scaled so the ODE is not trivial).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <torch/cuda.h>

#include "eval/inception.h"
#include "eval/likelihood.h"
#include "eval/rk45.h"
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

}  // namespace

int main(int argc, char** argv) {
  std::string device_name = "cpu";
  std::int64_t batch = 8, resolution = 16, inception_images = 16;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--device")
      device_name = value;
    else if (key == "--batch")
      batch = std::atoll(value.c_str());
    else if (key == "--resolution")
      resolution = std::atoll(value.c_str());
    else if (key == "--inception-images")
      inception_images = std::atoll(value.c_str());
    else {
      std::fprintf(stderr, "eval_bench: unknown option %s\n", key.c_str());
      return 2;
    }
  }
  const at::Device device(device_name);
  at::manual_seed(0);
  models::ModelOptions mo;
  mo.nf = 16;
  mo.ch_mult = {1, 2, 2};
  mo.num_res_blocks = 1;
  mo.attn_resolutions = {resolution / 2};
  mo.dropout = 0;
  mo.sigma_max = 16;
  models::DataShape shape;
  shape.image_size = resolution;
  auto model = models::make_model(mo, shape);
  model->to(device);
  model->eval();
  sde::SdeOptions so;
  so.sigma_max = mo.sigma_max;
  std::shared_ptr<const sde::SDE> sde = sde::make_sde(so);
  const sde::ModelFn net = [&](const at::Tensor& x, const at::Tensor& l) {
    return model->forward(x, l);
  };
  const sde::ScoreFn score = sde::get_score_fn(sde, net, true);
  const at::Tensor x = at::rand({batch, 3, resolution, resolution}).to(device);
  const at::Tensor indices = at::arange(batch, at::kLong);
  eval::LikelihoodOptions lo;  // rtol = atol = 1e-5, Rademacher, one probe

  auto start = Clock::now();
  const eval::Likelihood ours = eval::likelihood(sde, score, x, indices, 0, 0, lo, 8.0);
  const double ours_s = seconds_since(start, device);
  double ours_nfe = 0;
  for (std::int64_t n : ours.nfe) ours_nfe += static_cast<double>(n) / static_cast<double>(batch);

  // The baseline: one flat float64 state on the host, as score_sde's likelihood.py hands to
  // scipy.integrate.solve_ivp; each evaluation copies it to the device and back.
  const std::int64_t D = x[0].numel();
  const at::Tensor probe = at::randint(0, 2, x.sizes(), x.options()) * 2 - 1;
  const std::shared_ptr<sde::ReverseSDE> flow = sde->reverse(score, true);
  const eval::SystemRhs rhs = [&](const at::Tensor&, const at::Tensor& t, const at::Tensor& y) {
    const c10::AutoGradMode grad(true);
    const at::Tensor xs = y.narrow(1, 0, batch * D)
                              .to(device, at::kFloat)
                              .view(x.sizes())
                              .detach()
                              .requires_grad_(true);
    const at::Tensor vec_t = at::full({batch}, t.item<double>(), x.options());
    const at::Tensor drift = flow->sde(xs, vec_t).drift;
    const at::Tensor g = torch::autograd::grad({(drift * probe).sum()}, {xs})[0];
    const at::Tensor div = (g * probe).view({batch, D}).sum(1);
    return at::cat({drift.detach().reshape({1, batch * D}), div.view({1, batch})}, 1)
        .to(at::kCPU, at::kDouble);
  };
  const at::Tensor y0 = at::cat(
      {x.to(at::kCPU, at::kDouble).reshape({1, batch * D}), at::zeros({1, batch}, at::kDouble)}, 1);
  eval::Rk45Options ro;
  ro.rtol = lo.rtol;
  ro.atol = lo.atol;
  start = Clock::now();
  const eval::Rk45Result base = eval::solve_rk45(rhs, lo.eps, sde->T(), y0, ro);
  const double base_s = seconds_since(start, device);

  std::printf("bits/dim, batch %lld of %lldx%lld, rtol = atol = 1e-5, %s\n",
              static_cast<long long>(batch), static_cast<long long>(resolution),
              static_cast<long long>(resolution), device_name.c_str());
  std::printf("  %-40s %10s %14s\n", "solver", "wall s", "NFE/sample");
  std::printf("  %-40s %10.2f %14.1f\n", "sgm (device, per-sample control)", ours_s, ours_nfe);
  std::printf("  %-40s %10.2f %14lld\n", "host baseline (one state, batch control)", base_s,
              static_cast<long long>(base.nfev[0]));
  std::printf("  ratio baseline / sgm wall time: %.2f\n", base_s / ours_s);

  eval::FidInception inception;
  inception->to(device);
  inception->eval();
  const at::Tensor images = at::rand({inception_images, 3, 32, 32}).to(device);
  at::NoGradGuard no_grad;
  inception->forward(images.narrow(0, 0, 1));  // warm-up
  start = Clock::now();
  inception->forward(images);
  const double inception_s = seconds_since(start, device);
  std::printf("FID Inception features, %lld images of 32x32 -> 299: %.1f images/s\n",
              static_cast<long long>(inception_images),
              static_cast<double>(inception_images) / inception_s);
  return 0;
}
