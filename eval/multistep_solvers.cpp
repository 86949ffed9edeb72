#include "eval/multistep_solvers.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <tuple>
#include <utility>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "eval/edm_heun.h"
#include "trainer/core/error.h"

namespace sgm::eval {
namespace {

// A denoiser value D at lambda = -log sigma.
struct History {
  double lambda = 0;
  at::Tensor d;
};

// One DPM-Solver++ step of `order` from y at lambda_0 (the newest history entry) to lambda_0 + h:
// the multistep form of the paper's Algorithm 2 (order 2, "midpoint") and its third-order
// extension through divided differences.
at::Tensor dpmpp_step(const at::Tensor& y, double h, const std::deque<History>& hist,
                      std::int64_t order) {
  const History& p0 = hist.back();
  const double phi1 = std::expm1(-h);  // e^{-h} - 1
  at::Tensor out = y * std::exp(-h) - p0.d * phi1;
  if (order == 1) return out;
  const History& p1 = hist[hist.size() - 2];
  const double r0 = (p0.lambda - p1.lambda) / h;
  const at::Tensor d1_0 = (p0.d - p1.d) / r0;
  if (order == 2) return out - d1_0 * (0.5 * phi1);
  const History& p2 = hist[hist.size() - 3];
  const double r1 = (p1.lambda - p2.lambda) / h;
  const at::Tensor d1_1 = (p1.d - p2.d) / r1;
  const at::Tensor d1 = d1_0 + (d1_0 - d1_1) * (r0 / (r0 + r1));
  const at::Tensor d2 = (d1_0 - d1_1) / (r0 + r1);
  const double phi2 = phi1 / h + 1, phi3 = phi2 / h - 0.5;
  return out + d1 * phi2 - d2 * (2 * phi3);
}

// UniPC's coefficients for a step of `order` with B(h) = e^{-h} - 1 (bh2, data prediction):
// rhos of the predictor (order - 1 of them) and of the corrector (order).
struct UniPCCoefficients {
  std::vector<double> predictor;
  std::vector<double> corrector;
};

std::vector<double> solve_small(std::vector<std::vector<double>> a, std::vector<double> b) {
  // Gaussian elimination with partial pivoting (n <= 3).
  const std::size_t n = b.size();
  for (std::size_t c = 0; c < n; ++c) {
    std::size_t pivot = c;
    for (std::size_t r = c + 1; r < n; ++r)
      if (std::abs(a[r][c]) > std::abs(a[pivot][c])) pivot = r;
    std::swap(a[c], a[pivot]);
    std::swap(b[c], b[pivot]);
    for (std::size_t r = c + 1; r < n; ++r) {
      const double f = a[r][c] / a[c][c];
      for (std::size_t k = c; k < n; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (std::size_t i = n; i-- > 0;) {
    double s = b[i];
    for (std::size_t k = i + 1; k < n; ++k) s -= a[i][k] * x[k];
    x[i] = s / a[i][i];
  }
  return x;
}

UniPCCoefficients unipc_coefficients(const std::vector<double>& rks, double h) {
  // rks: (lambda_j - lambda_0) / h of the older history entries, then 1 (the new point).
  const std::size_t order = rks.size();
  const double hh = -h, b_h = std::expm1(hh);
  double h_phi_k = std::expm1(hh) / hh - 1, factorial = 1;
  std::vector<std::vector<double>> r(order, std::vector<double>(order));
  std::vector<double> b(order);
  for (std::size_t i = 0; i < order; ++i) {
    for (std::size_t j = 0; j < order; ++j) r[i][j] = std::pow(rks[j], static_cast<double>(i));
    b[i] = h_phi_k * factorial / b_h;
    factorial *= static_cast<double>(i + 2);
    h_phi_k = h_phi_k / hh - 1 / factorial;
  }
  UniPCCoefficients c;
  if (order == 2) c.predictor = {0.5};
  if (order > 2) {
    std::vector<std::vector<double>> r_p(order - 1);
    for (std::size_t i = 0; i + 1 < order; ++i) r_p[i].assign(r[i].begin(), r[i].end() - 1);
    c.predictor = solve_small(r_p, std::vector<double>(b.begin(), b.end() - 1));
  }
  c.corrector = order == 1 ? std::vector<double>{0.5} : solve_small(r, b);
  return c;
}

}  // namespace

const std::vector<std::string>& multistep_schedules() {
  static const std::vector<std::string> names = {"logsnr", "time_uniform", "edm"};
  return names;
}

NoiseGrid noise_grid(const sde::SDE& sde, double eps, std::int64_t steps,
                     const std::string& schedule, double rho, double sigma_min, double sigma_max) {
  SGM_CHECK(steps >= 1 && eps > 0 && eps < sde.T(), "noise_grid: steps {} eps {}", steps, eps);
  const NoiseRange range = noise_range(sde, eps, sigma_min, sigma_max);
  const double hi = range.hi, lo = range.lo;
  const double t_hi = hi < range.sigma_T ? time_of_noise_level(sde, hi) : sde.T();
  const double t_lo = lo > range.sigma_eps ? time_of_noise_level(sde, lo) : eps;
  NoiseGrid g;
  for (std::int64_t i = 0; i <= steps; ++i) {
    const double f = static_cast<double>(i) / static_cast<double>(steps);
    double t = t_hi + f * (t_lo - t_hi), sigma = 0;
    if (schedule == "time_uniform") {
      sigma = noise_level(sde, t);
    } else if (schedule == "logsnr") {
      sigma = std::exp(std::log(hi) + f * (std::log(lo) - std::log(hi)));
    } else if (schedule == "edm") {
      const double a = std::pow(hi, 1 / rho), b = std::pow(lo, 1 / rho);
      sigma = std::pow(a + f * (b - a), rho);
    } else {
      throw core::UsageError(
          fmt::format("sampling.schedule: '{}' is not one of logsnr, time_uniform, edm", schedule));
    }
    if (i == 0 || i == steps) {
      std::tie(t, sigma) = i == 0 ? std::pair{t_hi, hi} : std::pair{t_lo, lo};  // the ends exactly
    } else if (schedule != "time_uniform") {
      t = time_of_noise_level(sde, sigma);
    }
    g.t.push_back(t);
    g.sigma.push_back(sigma);
  }
  return g;
}

MultistepResult multistep_solve(const sde::SDE& sde, const sde::ScoreFn& score,
                                const SampleNoise& noise, double eps, const MultistepSolve& o,
                                const at::Device& device) {
  SGM_CHECK(o.order >= 1 && o.order <= 3, "multistep_solve: order {}", o.order);
  const NoiseGrid g = noise_grid(sde, eps, o.steps, o.schedule, o.rho, o.sigma_min, o.sigma_max);
  const std::int64_t B = noise.batch(), N = o.steps;
  MultistepResult out;
  auto denoise = [&](const at::Tensor& y, std::int64_t i) {
    const auto k = static_cast<std::size_t>(i);
    const double m = mean_coefficient(sde, g.t[k]), sigma = g.sigma[k];
    const at::Tensor time =
        at::full({B}, g.t[k], at::TensorOptions().dtype(at::kFloat).device(device));
    const at::Tensor s = score((y * m).to(at::kFloat), time).to(at::kDouble);
    ++out.nfe;
    return y + s * (sigma * sigma * m);
  };
  auto lambda = [&](std::int64_t i) { return -std::log(g.sigma[static_cast<std::size_t>(i)]); };
  // From T: the SDE's prior, as the RK45 sampler starts; from a lower sigma_max: N(0, sigma^2 I),
  // as EDM's sampler starts.
  const at::Tensor n = noise.normal(core::RngStream::kPrior, 0);
  at::Tensor y = g.t[0] == sde.T()
                     ? sde.prior_sampling(n).to(at::kDouble) / mean_coefficient(sde, sde.T())
                     : n.to(at::kDouble) * g.sigma[0];
  std::deque<History> hist{{lambda(0), denoise(y, 0)}};
  for (std::int64_t i = 1; i <= N; ++i) {
    std::int64_t order = std::min<std::int64_t>(o.order, i);  // warm-up from the first step
    if (o.lower_order_final && N < 15) order = std::min(order, N - i + 1);
    const double h = lambda(i) - lambda(i - 1);
    const bool last = i == N;
    if (o.method == MultistepMethod::kDpmSolverPP) {
      y = dpmpp_step(y, h, hist, order);
      if (last) break;
      hist.push_back({lambda(i), denoise(y, i)});
    } else {
      // UniPC: the predictor UniP from the history, then (except at the last step) the corrector
      // UniC with the denoiser at the predicted point, whose value the next step reuses.
      const History& p0 = hist.back();
      std::vector<double> rks;
      std::vector<at::Tensor> d1s;
      for (std::int64_t j = 1; j < order; ++j) {
        const History& pj = hist[hist.size() - 1 - static_cast<std::size_t>(j)];
        rks.push_back((pj.lambda - p0.lambda) / h);
        d1s.push_back((pj.d - p0.d) / rks.back());
      }
      rks.push_back(1);
      const UniPCCoefficients c = unipc_coefficients(rks, h);
      const double b_h = std::expm1(-h);
      const at::Tensor base = y * std::exp(-h) - p0.d * b_h;
      at::Tensor predicted = base;
      for (std::size_t j = 0; j < d1s.size(); ++j)
        predicted = predicted - d1s[j] * (b_h * c.predictor[j]);
      if (last) {
        y = predicted;
        break;
      }
      const at::Tensor d_new = denoise(predicted, i);
      at::Tensor corrected = base - (d_new - p0.d) * (b_h * c.corrector.back());
      for (std::size_t j = 0; j < d1s.size(); ++j)
        corrected = corrected - d1s[j] * (b_h * c.corrector[j]);
      y = corrected;
      hist.push_back({lambda(i), d_new});
    }
    while (hist.size() > 3) hist.pop_front();
  }
  out.x = (o.denoise ? denoise(y, N) : y * mean_coefficient(sde, g.t.back())).to(at::kFloat);
  return out;
}

}  // namespace sgm::eval
