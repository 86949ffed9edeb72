// NCSNv2's "improved techniques" for choosing noise levels from data (Song & Ermon 2020,
// arXiv 2006.09011), used by `sgm-data noise-schedule`:
//   1. sigma_1 = the largest pairwise Euclidean distance between training points;
//   2. geometric levels with ratio gamma solving Phi(sqrt(2D)(g-1) + 3g) - Phi(sqrt(2D)(g-1) - 3g)
//   = 0.5,
//      L = ceil(log(sigma_1 / sigma_L) / log gamma) + 1;
//   4. the Langevin step eps for T steps per level with s_T^2 / sigma^2 as close to 1 as it gets.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace sgm::data {

// Phi(sqrt(2D)(g-1) + 3g) - Phi(sqrt(2D)(g-1) - 3g)
double technique2_expression(double gamma, std::int64_t dim);
// The gamma > 1 at which technique2_expression equals `target` (0.5), by bisection.
double technique2_gamma(std::int64_t dim, double target = 0.5);

// s_T^2 / sigma^2 after T Langevin steps of size eps at the smallest level sigma_L (technique 4).
double technique4_ratio(double eps, double gamma, std::int64_t steps, double sigma_min);
// The eps that brings technique4_ratio closest to 1 (the ratio exceeds 1 for every eps, so this
// is its minimum; golden-section search on log eps over (0, sigma_min^2)).
double technique4_eps(double gamma, std::int64_t steps, double sigma_min);

struct Diameter {
  double lower = 0;    // a pair of points is this far apart
  double upper = 0;    // no pair is farther apart than this
  bool exact = false;  // lower == upper, from all pairs
};
// points: [N, D] float. Exact (all pairs, in blocks) when N <= exact_limit; otherwise the lower
// bound of repeated farthest-point sweeps and the upper bound 2 max |x - centroid|.
Diameter max_pairwise_distance(const at::Tensor& points, std::int64_t exact_limit = 20000);

}  // namespace sgm::data
