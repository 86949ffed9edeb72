#include "eval/edm_heun.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "trainer/core/error.h"

namespace sgm::eval {
namespace {

struct Kernel {
  double mean = 1;  // mean coefficient m(t)
  double std = 0;
};

Kernel kernel(const sde::SDE& sde, double t) {
  const auto opts = at::TensorOptions().dtype(at::kDouble);
  const sde::MeanStd ms = sde.marginal_prob(at::ones({1, 1}, opts), at::full({1}, t, opts));
  return {ms.mean.item<double>(), ms.std.item<double>()};
}

}  // namespace

std::vector<double> edm_sigmas(double sigma_min, double sigma_max, std::int64_t steps, double rho) {
  SGM_CHECK(steps >= 2 && rho > 0 && sigma_min > 0 && sigma_max >= sigma_min,
            "edm_sigmas: needs steps >= 2, rho > 0 and 0 < sigma_min <= sigma_max");
  std::vector<double> s;
  const double a = std::pow(sigma_max, 1 / rho), b = std::pow(sigma_min, 1 / rho);
  for (std::int64_t i = 0; i < steps; ++i)
    s.push_back(
        std::pow(a + static_cast<double>(i) / static_cast<double>(steps - 1) * (b - a), rho));
  s.push_back(0);
  return s;
}

double noise_level(const sde::SDE& sde, double t) {
  const Kernel k = kernel(sde, t);
  return k.std / k.mean;
}

double mean_coefficient(const sde::SDE& sde, double t) { return kernel(sde, t).mean; }

NoiseRange noise_range(const sde::SDE& sde, double eps, double sigma_min, double sigma_max) {
  NoiseRange r;
  r.sigma_eps = noise_level(sde, eps);
  r.sigma_T = noise_level(sde, sde.T());
  r.lo = std::max(sigma_min, r.sigma_eps);
  r.hi = std::min(sigma_max, r.sigma_T);
  if (!(r.lo < r.hi)) {
    throw core::UsageError(fmt::format(
        "sampling.edm_sigma_min/max: [{}, {}] does not overlap the SDE's noise levels [{}, {}]",
        sigma_min, sigma_max, r.sigma_eps, r.sigma_T));
  }
  return r;
}

double time_of_noise_level(const sde::SDE& sde, double sigma) {
  double lo = 0, hi = sde.T();
  for (int i = 0; i < 64 && noise_level(sde, hi) < sigma; ++i) {
    lo = hi;
    hi *= 2;
  }
  for (int i = 0; i < 200 && hi - lo > 1e-15 * std::max(1.0, hi); ++i) {
    const double mid = 0.5 * (lo + hi);
    (noise_level(sde, mid) < sigma ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

EdmResult edm_heun(const sde::SDE& sde, const sde::ScoreFn& score, SampleNoise& noise, double eps,
                   const EdmOptions& o, const at::Device& device) {
  const NoiseRange range = noise_range(sde, eps, o.sigma_min, o.sigma_max);
  const std::vector<double> sigmas = edm_sigmas(range.lo, range.hi, o.steps, o.rho);
  const std::int64_t B = noise.batch();
  EdmResult out;
  // D(y; sigma) = y + sigma^2 m s_theta(m y, t(sigma)).
  auto denoise = [&](const at::Tensor& y, double sigma) {
    const double t = time_of_noise_level(sde, sigma);
    const double m = kernel(sde, t).mean;
    const at::Tensor time = at::full({B}, t, at::TensorOptions().dtype(at::kFloat).device(device));
    const at::Tensor s = score((y * m).to(at::kFloat), time).to(at::kDouble);
    ++out.nfe;
    return y + s * (sigma * sigma * m);
  };
  at::Tensor x = noise.normal(core::RngStream::kPrior, 0).to(at::kDouble) * sigmas[0];
  const double gamma_max = std::min(o.churn / static_cast<double>(o.steps), std::sqrt(2.0) - 1);
  for (std::int64_t i = 0; i < o.steps; ++i) {
    const double cur = sigmas[static_cast<std::size_t>(i)];
    const double next = sigmas[static_cast<std::size_t>(i + 1)];
    const double gamma = (o.s_min <= cur && cur <= o.s_max) ? gamma_max : 0.0;
    const double hat = cur * (1 + gamma);
    at::Tensor x_hat = x;
    if (gamma > 0)
      x_hat = x + noise.next().to(at::kDouble) * (std::sqrt(hat * hat - cur * cur) * o.s_noise);
    const at::Tensor d = (x_hat - denoise(x_hat, hat)) / hat;
    x = x_hat + d * (next - hat);
    if (next > 0) {
      const at::Tensor d_next = (x - denoise(x, next)) / next;
      x = x_hat + (d + d_next) * (0.5 * (next - hat));
    }
  }
  out.x = x.to(at::kFloat);
  return out;
}

}  // namespace sgm::eval
