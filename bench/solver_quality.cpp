#include "bench/solver_quality.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "eval/edm_heun.h"
#include "eval/sampling.h"
#include "trainer/models/analytic.h"
#include "trainer/sde/registry.h"
#include "trainer/sde/score_fn.h"

namespace sgm::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Analytic {
  std::shared_ptr<const sde::SDE> sde;
  sde::ScoreFn score;
};

// The two-mode mixture 1/4 N(-1, 0.3^2 I) + 3/4 N(1, 0.3^2 I) under `name` with N levels.
Analytic analytic(const std::string& name, std::int64_t N) {
  sde::SdeOptions so;
  so.name = name;
  so.num_scales = N;
  auto model = std::make_shared<models::GaussianMixtureScore>(
      models::GaussianMixtureOptions().mean({-1.0, 1.0}).std({0.3, 0.3}).weight({1, 3}).sde(so));
  std::shared_ptr<const sde::SDE> sde = sde::make_sde(so);
  return {
      sde,
      sde::get_score_fn(
          sde, [model](const at::Tensor& x, const at::Tensor& l) { return model->forward(x, l); },
          true)};
}

double median_error(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor d = (a.to(at::kDouble) - b.to(at::kDouble)).reshape({a.size(0), -1});
  return d.pow(2).mean(1).sqrt().median().item<double>();
}

struct Run {
  double error = 0;
  double nfe = 0;
  double seconds = 0;
};

}  // namespace

nlohmann::json solver_quality(double target, std::int64_t batch) {
  const std::vector<std::int64_t> shape{3, 8, 8};
  const at::Tensor indices = at::arange(batch, at::kLong);
  const std::vector<std::int64_t> budgets = {4,   5,   6,   7,   8,   10,  12,  14,  16,  20,
                                             24,  28,  32,  40,  48,  56,  64,  80,  96,  112,
                                             128, 160, 192, 256, 320, 384, 512, 640, 800, 1000};
  const std::vector<double> tolerances = {1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6};
  nlohmann::json report = nlohmann::json::array();
  std::printf(
      "solvers at equal quality: the two-mode mixture on 3x8x8, %lld samples, median "
      "error <= %.0e against RK45 at rtol 1e-7\n",
      static_cast<long long>(batch), target);
  std::printf("  %-8s %-10s %10s %10s %12s\n", "sde", "solver", "NFE", "wall s", "error");
  for (const char* sde_name : {"vesde", "vpsde", "subvpsde"}) {
    const Analytic a = analytic(sde_name, 1000);
    eval::SamplingOptions base;
    base.method = "ode";
    base.noise_removal = false;
    base.edm.sigma_min = 1e-9;  // the ODE's whole range, as the reference
    base.edm.sigma_max = 1e9;
    eval::SamplingOptions exact = base;
    exact.rtol = exact.atol = 1e-7;
    const at::Tensor reference =
        eval::draw_samples(a.sde, a.score, indices, shape, 1, exact, at::kCPU).x;
    // EDM's Heun ends at noise level 0: Tweedie's denoising of the solution at eps.
    const double eps = a.sde->default_sampling_eps();
    const double m = eval::mean_coefficient(*a.sde, eps), s = m * eval::noise_level(*a.sde, eps);
    const at::Tensor denoised =
        (reference.to(at::kDouble) +
         a.score(reference, at::full({batch}, eps, at::kFloat)).to(at::kDouble) * (s * s)) /
        m;
    auto run = [&](const Analytic& setup, const eval::SamplingOptions& o, bool to_zero) {
      const auto start = Clock::now();
      const eval::Samples out =
          eval::draw_samples(setup.sde, setup.score, indices, shape, 1, o, at::kCPU);
      Run r;
      r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      r.error = median_error(out.x, to_zero ? denoised : reference);
      for (std::int64_t n : out.nfe) r.nfe += static_cast<double>(n) / static_cast<double>(batch);
      return r;
    };
    auto print = [&](const std::string& solver, const Run& r) {
      const bool met = r.error <= target;
      std::printf("  %-8s %-10s %10s %10.3f %12.2e\n", sde_name, solver.c_str(),
                  met ? fmt::format("{:.0f}", r.nfe).c_str() : "> budget", r.seconds, r.error);
      report.push_back({{"sde", sde_name},
                        {"solver", solver},
                        {"nfe", met ? r.nfe : std::numeric_limits<double>::quiet_NaN()},
                        {"seconds", r.seconds},
                        {"error", r.error}});
    };
    for (const char* solver :
         {"euler", "heun", "edm_heun", "ddim", "dpmpp_2m", "dpmpp_3m", "unipc_2", "unipc"}) {
      Run found;
      found.error = std::numeric_limits<double>::infinity();
      for (std::int64_t n : budgets) {
        eval::SamplingOptions o = base;
        o.ode_solver = solver;
        const std::string name = solver;
        Analytic setup = a;
        if (name == "euler" || name == "heun") {
          setup = analytic(sde_name, name == "heun" ? n / 2 : n);
          if (name == "heun" && n % 2 != 0) continue;
        } else if (name == "edm_heun") {
          o.edm.steps = (n + 2) / 2;  // NFE 2N - 1: n, or n + 1 for an even n
        } else {
          o.multistep.nfe = n;
        }
        found = run(setup, o, name == "edm_heun");
        if (found.error <= target) break;
      }
      print(solver, found);
    }
    Run found;
    for (double tol : tolerances) {
      eval::SamplingOptions o = base;
      o.rtol = o.atol = tol;
      found = run(a, o, false);
      if (found.error <= target) break;
    }
    print("rk45", found);
  }
  return report;
}

}  // namespace sgm::bench
