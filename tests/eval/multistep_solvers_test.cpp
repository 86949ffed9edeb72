// The few-step solvers (DDIM, DPM-Solver++ 2M/3M, UniPC) on the analytic `gaussian` model,
// where the exact probability-flow solution is known up to RK45 at rtol 1e-7: under VE, VP and
// sub-VP, for a Gaussian and a two-mode mixture, each solver's error falls at its order as the
// steps double (slopes printed); at 10 network calls DPM-Solver++(2M) is closer to the solution
// than EDM's Heun at 11 and Euler at 10; at 20 calls the samples have the data's moments within
// 2 %; NFE is exactly sampling.nfe; a sample does not depend on its batch.
#include "eval/multistep_solvers.h"

#include <cmath>
#include <cstdio>
#include <string>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "eval/edm_heun.h"
#include "eval/sampling.h"
#include "tests/eval/analytic_setup.h"
#include "trainer/core/error.h"

namespace sgm::eval {
namespace {

const std::vector<std::int64_t> kShape = {3, 8, 8};

struct Data {
  const char* name;
  std::vector<double> means, stds, weights;
};

const std::vector<Data>& data_sets() {
  static const std::vector<Data> d = {{"gaussian", {1.0}, {0.5}, {1}},
                                      {"two modes", {-1.0, 1.0}, {0.3, 0.3}, {1, 3}}};
  return d;
}

// The median over samples of each sample's rms error: a sample whose path runs near the
// boundary between two modes converges only at many more steps, and one of them must not
// decide the slope of all.
double median_error(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor per_sample =
      (a.to(at::kDouble) - b.to(at::kDouble)).pow(2).reshape({a.size(0), -1}).mean(1).sqrt();
  return per_sample.median().item<double>();
}

// The exact end of the ODE at eps (RK45, rtol = atol = 1e-7) and Tweedie's denoising of it.
struct Reference {
  at::Tensor x_eps;
  at::Tensor denoised;
};

Reference reference(const Analytic& a, const at::Tensor& indices, std::uint64_t seed) {
  SamplingOptions o;
  o.method = "ode";
  o.rtol = o.atol = 1e-7;
  o.noise_removal = false;
  Reference r;
  r.x_eps = draw_samples(a.sde, a.score, indices, kShape, seed, o, at::kCPU).x;
  const double eps = a.sde->default_sampling_eps();
  const double m = mean_coefficient(*a.sde, eps), s = m * noise_level(*a.sde, eps);
  const at::Tensor t = at::full({indices.size(0)}, eps, at::kFloat);
  r.denoised = (r.x_eps.to(at::kDouble) + a.score(r.x_eps, t).to(at::kDouble) * (s * s)) / m;
  return r;
}

Samples solve(const Analytic& a, const at::Tensor& indices, std::uint64_t seed,
              const std::string& solver, std::int64_t nfe, bool noise_removal,
              bool lower_order_final = true, const std::string& schedule = "logsnr",
              bool whole_range = false) {
  SamplingOptions o;
  if (whole_range) {  // sigma(T) to sigma(eps), not EDM's [0.002, 80]: the RK45 solution's range
    o.edm.sigma_min = 1e-9;
    o.edm.sigma_max = 1e9;
  }
  o.method = "ode";
  o.ode_solver = solver;
  o.noise_removal = noise_removal;
  o.multistep.nfe = nfe;
  o.multistep.lower_order_final = lower_order_final;
  o.multistep.schedule = schedule;
  validate(o, *a.sde);
  return draw_samples(a.sde, a.score, indices, kShape, seed, o, at::kCPU);
}

TEST(MultistepSolvers, ErrorFallsAtTheSolversOrder) {
  // The slope is read where the error is still well above the float32 floor (~1e-5: the
  // denoiser y + sigma^2 m s subtracts numbers of size sigma(T) = 50-150 computed in float32):
  // between 40 and 80 steps for orders 1-2, 20 and 40 for the third-order ones, 10 and 20 for
  // UniPC-3. UniPC-3 starts with UniPC-1 and -2 (as UniPC does), so its global order is 3.
  struct Expected {
    const char* solver;
    double order;
    std::size_t doubling;  // slope between steps[doubling] and steps[doubling + 1]
  };
  const std::vector<Expected> solvers = {
      {"ddim", 1, 2}, {"dpmpp_2m", 2, 2}, {"dpmpp_3m", 3, 1}, {"unipc_2", 3, 1}, {"unipc", 3, 0}};
  const at::Tensor indices = at::arange(16, at::kLong);
  const std::vector<std::int64_t> steps = {10, 20, 40, 80};
  for (const char* sde : {"vesde", "vpsde", "subvpsde"}) {
    for (const Data& d : data_sets()) {
      const Analytic a = analytic(sde, d.means, d.stds, d.weights);
      const Reference ref = reference(a, indices, 3);
      for (const Expected& e : solvers) {
        std::vector<double> err;
        for (std::int64_t n : steps) {
          const Samples s = solve(a, indices, 3, e.solver, n, false, false, "logsnr", true);
          EXPECT_EQ(s.nfe[0], n) << e.solver;
          err.push_back(median_error(s.x, ref.x_eps));
        }
        std::string line;
        for (std::size_t i = 0; i < err.size(); ++i) line += fmt::format(" {:.2e}", err[i]);
        std::string slopes;
        for (std::size_t i = 0; i + 1 < err.size(); ++i)
          slopes += fmt::format(" {:.2f}", std::log2(err[i] / err[i + 1]));
        const double slope = std::log2(err[e.doubling] / err[e.doubling + 1]);
        std::printf(
            "[evidence] %-8s %-9s %-8s median error at 10/20/40/80 steps:%s  slopes%s "
            "(order %.0f: %.2f >= %.1f)\n",
            sde, d.name, e.solver, line.c_str(), slopes.c_str(), e.order, slope, e.order - 0.4);
        EXPECT_GE(slope, e.order - 0.4) << sde << " " << d.name << " " << e.solver;
      }
    }
  }
}

// Samples whose mode (the sign of their mean) differs between a and b.
std::int64_t flips(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor ma = a.reshape({a.size(0), -1}).mean(1), mb = b.reshape({b.size(0), -1}).mean(1);
  return ((ma > 0) != (mb > 0)).sum().item<std::int64_t>();
}

TEST(MultistepSolvers, TenCallsOfDpmSolverBeatEdmHeunAtElevenAndEulerAtTen) {
  // The median over samples of the error (a sample that a solver sends to the other mode of the
  // mixture counts once, not as the rms of all; how many do is printed). Each against the exact
  // answer at its own end: DPM-Solver++(2M) and Euler end at eps (no
  // denoising), EDM's Heun ends at noise level 0, which is Tweedie's denoising at eps of the ODE's
  // solution (its last step is Euler to 0 from sigma(eps)); DPM-Solver++(2M) with its final
  // denoising (9 steps + 1 call) is compared there too.
  const at::Tensor indices = at::arange(32, at::kLong);
  for (const char* sde : {"vesde", "vpsde", "subvpsde"}) {
    for (const Data& d : data_sets()) {
      const Analytic a = analytic(sde, d.means, d.stds, d.weights);
      const Reference ref = reference(a, indices, 5);
      const Samples dpm = solve(a, indices, 5, "dpmpp_2m", 10, false, true, "logsnr", true);
      const Samples dpm_denoised = solve(a, indices, 5, "dpmpp_2m", 10, true, true, "logsnr", true);
      SamplingOptions o;
      o.method = "ode";
      o.ode_solver = "edm_heun";
      o.edm.steps = 6;         // NFE 2 * 6 - 1 = 11
      o.edm.sigma_min = 1e-9;  // raised to sigma(eps)
      o.edm.sigma_max = 1e9;   // lowered to sigma(T): the ODE's whole range
      const Samples heun = draw_samples(a.sde, a.score, indices, kShape, 5, o, at::kCPU);
      const Analytic ten = analytic(sde, d.means, d.stds, d.weights, 10);  // Euler's 10 steps
      o.ode_solver = "euler";
      o.noise_removal = false;
      const Samples euler = draw_samples(ten.sde, ten.score, indices, kShape, 5, o, at::kCPU);
      const double e_dpm = median_error(dpm.x, ref.x_eps);
      const double e_dpm_d = median_error(dpm_denoised.x, ref.denoised);
      const double e_heun = median_error(heun.x, ref.denoised);
      const double e_euler = median_error(euler.x, ref.x_eps);
      std::printf(
          "[evidence] %-8s %-9s median error: dpmpp_2m %ld NFE %.2e (denoised, %ld NFE: %.2e) | "
          "edm_heun %ld NFE %.2e | euler %ld NFE %.2e; samples in the other mode than the exact "
          "solution's: %ld / %ld / %ld of 32\n",
          sde, d.name, dpm.nfe[0], e_dpm, dpm_denoised.nfe[0], e_dpm_d, heun.nfe[0], e_heun,
          euler.nfe[0], e_euler, flips(dpm.x, ref.x_eps), flips(heun.x, ref.denoised),
          flips(euler.x, ref.x_eps));
      EXPECT_EQ(dpm.nfe[0], 10);
      EXPECT_EQ(dpm_denoised.nfe[0], 10);
      EXPECT_EQ(heun.nfe[0], 11);
      EXPECT_EQ(euler.nfe[0], 10);
      EXPECT_LT(e_dpm, e_heun) << sde << " " << d.name;
      EXPECT_LT(e_dpm_d, e_heun) << sde << " " << d.name;
      EXPECT_LT(e_dpm, e_euler) << sde << " " << d.name;
    }
  }
}

TEST(MultistepSolvers, TwentyCallsReproduceTheDataMoments) {
  // On the default schedule (logsnr) within 2 %; DPM-Solver++(2M) is second order and its
  // variance is 2.6 % off on sub-VP at 20 calls, so it has 3 %. The other schedules are printed:
  // time_uniform is logsnr for VE and poor for VP and sub-VP at this NFE; EDM's rho = 7, made for
  // its Heun, spends the calls at low noise.
  const double mu = 1.0, s = 0.5;
  for (const char* sde : {"vesde", "vpsde", "subvpsde"}) {
    const Analytic a = analytic(sde, {mu}, {s}, {1});
    for (const char* solver : {"dpmpp_2m", "dpmpp_3m", "unipc_2", "unipc"}) {
      for (const char* schedule : {"logsnr", "time_uniform", "edm"}) {
        const Samples out =
            solve(a, at::arange(64, at::kLong), 3, solver, 20, true, true, schedule);
        const at::Tensor x = out.x.to(at::kDouble);
        const double mean = x.mean().item<double>(), var = x.var().item<double>();
        const double mean_err = std::abs(mean - mu) / mu, var_err = std::abs(var - s * s) / (s * s);
        std::printf(
            "[evidence] %-8s %-8s %-12s NFE %ld: mean %.4f (err %.2f%%), variance %.4f (err "
            "%.2f%%)\n",
            sde, solver, schedule, out.nfe[0], mean, 100 * mean_err, var, 100 * var_err);
        EXPECT_EQ(out.nfe[0], 20);
        if (std::string(schedule) != "logsnr") continue;
        const double tolerance = std::string(solver) == "dpmpp_2m" ? 0.03 : 0.02;
        EXPECT_LT(mean_err, tolerance) << sde << " " << solver;
        EXPECT_LT(var_err, tolerance) << sde << " " << solver;
      }
    }
  }
}

TEST(MultistepSolvers, ASampleDoesNotDependOnItsBatch) {
  const Analytic a = analytic("vpsde", {-1.0, 1.0}, {0.3, 0.3}, {1, 1});
  const at::Tensor all = at::arange(200, 208, at::kLong);
  for (const char* solver : {"ddim", "dpmpp_2m", "dpmpp_3m", "unipc_2", "unipc"}) {
    const Samples whole = solve(a, all, 9, solver, 7, true);
    const Samples left = solve(a, all.narrow(0, 0, 3), 9, solver, 7, true);
    const Samples right = solve(a, all.narrow(0, 3, 5), 9, solver, 7, true);
    const bool same = at::equal(whole.x, at::cat({left.x, right.x}));
    std::printf("[evidence] %-8s samples 200..207 in one batch vs batches of 3 and 5: %s\n", solver,
                same ? "bit-identical" : "DIFFERENT");
    EXPECT_TRUE(same) << solver;
  }
}

TEST(MultistepSolvers, RefusesWhatItCannotDo) {
  SamplingOptions o;
  o.method = "ode";
  o.ode_solver = "dpmpp_2m";
  o.multistep.nfe = 1;  // noise removal takes the only call
  EXPECT_THROW(validate(o, "vesde"), core::UsageError);
  o.noise_removal = false;
  EXPECT_NO_THROW(validate(o, "vesde"));
  o.multistep.schedule = "karras";
  try {
    validate(o, "vesde");
    ADD_FAILURE() << "a schedule that does not exist was accepted";
  } catch (const core::UsageError& e) {
    std::printf("[evidence] sampling.schedule = karras: %s\n", e.what());
    EXPECT_NE(std::string(e.what()).find("sampling.schedule"), std::string::npos);
  }
}

}  // namespace
}  // namespace sgm::eval
