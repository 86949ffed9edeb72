#include "data/noise_schedule.h"

#include <cmath>

#include <ATen/ATen.h>

#include "trainer/core/error.h"

namespace sgm::data {
namespace {

double phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace

double technique2_expression(double gamma, std::int64_t dim) {
  const double a = std::sqrt(2.0 * static_cast<double>(dim)) * (gamma - 1);
  return phi(a + 3 * gamma) - phi(a - 3 * gamma);
}

double technique2_gamma(std::int64_t dim, double target) {
  // The expression falls from ~1 at gamma = 1 towards 0 as gamma grows.
  double lo = 1.0, hi = 2.0;
  while (technique2_expression(hi, dim) > target) hi *= 2;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (technique2_expression(mid, dim) > target ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double technique4_ratio(double eps, double gamma, std::int64_t steps, double sigma_min) {
  const double s2 = sigma_min * sigma_min;
  const double q = 1 - eps / s2;
  const double c = 2 * eps / (s2 - s2 * q * q);
  return std::pow(q, 2.0 * static_cast<double>(steps)) * (gamma * gamma - c) + c;
}

double technique4_eps(double gamma, std::int64_t steps, double sigma_min) {
  // The ratio exceeds 1 for every eps (it is gamma^2 as eps -> 0 and 2 as eps -> sigma_min^2);
  // the recommendation is the eps where it is smallest, found by golden-section search on log eps.
  const double s2 = sigma_min * sigma_min;
  double lo = std::log(s2 * 1e-12), hi = std::log(s2 * 0.999);
  const double g = (std::sqrt(5.0) - 1) / 2;
  auto f = [&](double log_eps) {
    return technique4_ratio(std::exp(log_eps), gamma, steps, sigma_min);
  };
  double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
  for (int i = 0; i < 300; ++i) {
    if (f(a) < f(b)) {
      hi = b;
    } else {
      lo = a;
    }
    a = hi - g * (hi - lo);
    b = lo + g * (hi - lo);
  }
  return std::exp(0.5 * (lo + hi));
}

Diameter max_pairwise_distance(const at::Tensor& points_in, std::int64_t exact_limit) {
  at::Tensor x = points_in.to(at::kDouble).reshape({points_in.size(0), -1});
  const std::int64_t n = x.size(0);
  if (n < 2) throw core::UsageError("the diameter needs at least two points");
  at::Tensor sq = x.square().sum(1);
  Diameter d;
  if (n <= exact_limit) {
    double best = 0;
    const std::int64_t block = 1024;
    for (std::int64_t i = 0; i < n; i += block) {
      at::Tensor xi = x.narrow(0, i, std::min(block, n - i));
      at::Tensor d2 =
          sq.narrow(0, i, xi.size(0)).unsqueeze(1) + sq.unsqueeze(0) - 2 * at::matmul(xi, x.t());
      best = std::max(best, d2.max().item<double>());
    }
    d.lower = d.upper = std::sqrt(std::max(best, 0.0));
    d.exact = true;
    return d;
  }
  // Farthest-point sweeps from a few starts give a lower bound; 2 max |x - c| an upper bound.
  at::Tensor centroid = x.mean(0);
  const double radius = (x - centroid).square().sum(1).max().item<double>();
  d.upper = 2 * std::sqrt(radius);
  std::int64_t start = (x - centroid).square().sum(1).argmax().item<std::int64_t>();
  for (int sweep = 0; sweep < 8; ++sweep) {
    at::Tensor dist = (x - x[start]).square().sum(1);
    const std::int64_t far = dist.argmax().item<std::int64_t>();
    d.lower = std::max(d.lower, std::sqrt(dist[far].item<double>()));
    start = far;
  }
  return d;
}

}  // namespace sgm::data
